package org.mobilevton.studio

import android.content.Context
import java.io.File
import java.io.FileNotFoundException
import java.security.MessageDigest

/*
 * The bundle ships inside the APK under assets/bundle/ (copied there by the Gradle task
 * installVtonBundle). ONNX Runtime loads models from files, so on first start (and whenever
 * the APK carries a different manifest) the listed files are copied to private storage.
 * Every file's sha256 is verified by TryOnPipeline before any session is created.
 * Nothing is ever downloaded.
 */
object BundleStore {
    const val ASSET_DIR = "bundle"
    private const val STORE_DIR = "bundles"

    class Installed(val dir: File, val manifest: BundleManifest)

    fun install(context: Context): Installed {
        val assetManifest = "$ASSET_DIR/${BundleFormat.MANIFEST_FILE}"
        val text = try {
            context.assets.open(assetManifest).bufferedReader().use { it.readText() }
        } catch (e: FileNotFoundException) {
            throw BundleException(
                "no model bundle in this APK (assets/$assetManifest is missing): build it with " +
                    "./gradlew assembleDebug -PvtonBundle=/path/to/android-bundle"
            )
        }
        val manifest = BundleManifest.parse(text, "assets/$assetManifest")
        val id = MessageDigest.getInstance("SHA-256").digest(text.toByteArray(Charsets.UTF_8))
            .take(8).joinToString("") { String.format("%02x", it.toInt() and 0xFF) }
        val root = File(context.noBackupFilesDir, STORE_DIR)
        val dir = File(root, id)
        if (!File(dir, BundleFormat.MANIFEST_FILE).isFile) {
            val tmp = File(root, "$id.part")
            tmp.deleteRecursively()
            for (rel in manifest.files.keys) {
                val out = File(tmp, rel)
                out.parentFile?.mkdirs()
                context.assets.open("$ASSET_DIR/$rel").use { input -> out.outputStream().use { input.copyTo(it) } }
            }
            File(tmp, BundleFormat.MANIFEST_FILE).writeText(text)  // written last: marks a complete copy
            dir.deleteRecursively()
            if (!tmp.renameTo(dir)) throw BundleException("cannot install the bundle into $dir")
        }
        // bundles of earlier app versions are never used again
        root.listFiles()?.filter { it.name != id }?.forEach { it.deleteRecursively() }
        return Installed(dir, manifest)
    }
}
