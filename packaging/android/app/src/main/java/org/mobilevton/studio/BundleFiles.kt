package org.mobilevton.studio

import java.io.File
import java.io.FileInputStream
import java.security.MessageDigest

/*
 * engine.bundle.verify_files on the device: every file the manifest lists must exist with its
 * byte size and sha256 before any ONNX Runtime session is created. A bundle that does not
 * verify is refused, naming the file.
 */
object BundleFiles {
    fun sha256(file: File): String {
        val digest = MessageDigest.getInstance("SHA-256")
        FileInputStream(file).use { input ->
            val buf = ByteArray(1 shl 20)
            while (true) {
                val n = input.read(buf)
                if (n < 0) break
                digest.update(buf, 0, n)
            }
        }
        return digest.digest().joinToString("") { String.format("%02x", it.toInt() and 0xFF) }
    }

    /** One message per bad file (empty when everything verifies). */
    fun problems(dir: File, manifest: BundleManifest): List<String> {
        val out = ArrayList<String>()
        for ((rel, entry) in manifest.files.toSortedMap()) {
            val f = File(dir, rel)
            when {
                !f.isFile -> out.add("$rel: missing from the bundle")
                f.length() != entry.bytes -> out.add("$rel: size is ${f.length()} bytes, manifest says ${entry.bytes}")
                sha256(f) != entry.sha256 ->
                    out.add("$rel: sha256 does not match the manifest: the file was changed or corrupted")
            }
        }
        return out
    }

    /** Throws [BundleException] naming the first file that does not verify. */
    fun verify(dir: File, manifest: BundleManifest) {
        val bad = problems(dir, manifest)
        if (bad.isNotEmpty()) {
            throw BundleException("bundle '${manifest.name}' does not verify: ${bad[0]}" +
                if (bad.size > 1) " (and ${bad.size - 1} more)" else "")
        }
    }
}
