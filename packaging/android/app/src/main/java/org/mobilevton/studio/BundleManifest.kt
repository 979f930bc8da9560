package org.mobilevton.studio

import org.json.JSONArray
import org.json.JSONException
import org.json.JSONObject

/*
 * manifest.json, read and checked the way engine/bundle.py reads it: every error names the
 * field. Everything the pipeline needs (resolutions, sigmas, sampler kind, garment-features
 * mode, adapter size, latent concatenation, categories, and every graph's file, inputs and
 * outputs with their shapes) comes from here; nothing is duplicated in the code.
 */

class BundleException(message: String) : Exception(message)

class TensorSpec(val name: String, val shape: LongArray, val dtype: String) {
    val elementCount: Int get() = shape.fold(1L) { a, b -> a * b }.toInt()

    fun dim(i: Int): Int = shape[i].toInt()

    override fun toString(): String = "$name${shape.joinToString(prefix = "[", postfix = "]")}"
}

class GraphSpec(val file: String, val precision: String, val inputs: List<TensorSpec>, val outputs: List<TensorSpec>) {
    fun input(name: String): TensorSpec =
        inputs.firstOrNull { it.name == name } ?: throw BundleException("graph $file has no input '$name'")

    fun output(name: String): TensorSpec =
        outputs.firstOrNull { it.name == name } ?: throw BundleException("graph $file has no output '$name'")
}

class FileEntry(val sha256: String, val bytes: Long)

data class Resolution(val height: Int, val width: Int) {
    /** engine.bundle.size_key: (1024, 768) -> "1024x768". */
    val key: String get() = "${height}x$width"
}

class BundleManifest(
    val name: String,
    val trained: Boolean,
    val target: String,
    val resolutions: List<Resolution>,
    val samplerKind: String,
    val sigmas: DoubleArray,
    val garmentFeatures: String,
    val adapterSize: Int,
    val latentConcat: Boolean,
    val categories: List<String>,
    val graphs: Map<String, Map<String, GraphSpec>>,
    val files: Map<String, FileEntry>,
    val license: String,
    /** onnxruntime version that wrote the .ort files (android.ort_format.onnxruntime). */
    val converterOrtVersion: String?,
    /** sha256 of each source ONNX graph the .ort files were converted from (android.source_graphs). */
    val sourceGraphs: Map<String, String>,
    /** sha256 of the desktop manifest (android.source.manifest_sha256). */
    val sourceManifestSha256: String?
) {
    val defaultResolution: Resolution get() = resolutions[0]

    fun graph(resolution: Resolution, name: String): GraphSpec =
        graphs[resolution.key]?.get(name)
            ?: throw BundleException("bundle '${this.name}' has no graph '$name' at ${resolution.key}")

    companion object {
        private val GRAPH_NAMES = listOf(
            GraphNames.VAE_ENCODER, GraphNames.GARMENT_NET, GraphNames.ADAPTER, GraphNames.TRYON_NET,
            GraphNames.VAE_DECODER
        )

        /** Parse manifest.json text; [where] names the file in error messages. */
        fun parse(text: String, where: String): BundleManifest {
            val root = try {
                JSONObject(text)
            } catch (e: JSONException) {
                throw BundleException("$where: bad manifest: not valid JSON (${e.message})")
            }
            return Reader(where).manifest(root)
        }
    }

    private class Reader(val where: String) {
        fun fail(problem: String): BundleException = BundleException("$where: bad manifest: $problem")

        fun obj(o: JSONObject, key: String, path: String = ""): JSONObject =
            o.optJSONObject(key) ?: throw fail("missing or non-object field '$path$key'")

        fun arr(o: JSONObject, key: String, path: String = ""): JSONArray =
            o.optJSONArray(key) ?: throw fail("missing or non-list field '$path$key'")

        fun str(o: JSONObject, key: String, path: String = ""): String {
            val v = o.opt(key)
            if (v !is String) throw fail("missing or non-string field '$path$key'")
            return v
        }

        fun int(o: JSONObject, key: String, path: String = ""): Int {
            val v = o.opt(key)
            if (v !is Int && v !is Long) throw fail("missing or non-integer field '$path$key'")
            return (v as Number).toInt()
        }

        fun bool(o: JSONObject, key: String, path: String = ""): Boolean {
            val v = o.opt(key)
            if (v !is Boolean) throw fail("missing or non-boolean field '$path$key'")
            return v
        }

        fun tensors(items: JSONArray, path: String): List<TensorSpec> = (0 until items.length()).map { i ->
            val t = items.optJSONObject(i) ?: throw fail("'$path[$i]' should be an object")
            val p = "$path[$i]."
            val shapeJson = arr(t, TensorKeys.SHAPE, p)
            val shape = LongArray(shapeJson.length()) { d ->
                val v = shapeJson.opt(d)
                if ((v !is Int && v !is Long) || (v as Number).toLong() <= 0L) {
                    throw fail("'${p}${TensorKeys.SHAPE}' must hold positive integers")
                }
                v.toLong()
            }
            TensorSpec(str(t, TensorKeys.NAME, p), shape, t.optString(TensorKeys.DTYPE, "float32"))
        }

        fun manifest(root: JSONObject): BundleManifest {
            if (root.opt(ManifestKeys.FORMAT) != BundleFormat.FORMAT) {
                throw fail("'${ManifestKeys.FORMAT}' should be '${BundleFormat.FORMAT}': this is not a Mobile-VTON bundle")
            }
            val version = int(root, ManifestKeys.FORMAT_VERSION)
            if (version > BundleFormat.FORMAT_VERSION) {
                throw fail("format_version $version is newer than this app understands (${BundleFormat.FORMAT_VERSION}); update the app")
            }
            val target = str(root, ManifestKeys.TARGET)
            if (target != BundleFormat.TARGET_ANDROID) {
                throw fail("target is '$target'; the app needs an Android bundle (vton bundle export ... --target android)")
            }

            val resJson = arr(root, ManifestKeys.RESOLUTIONS)
            val resolutions = (0 until resJson.length()).map { i ->
                val pair = resJson.optJSONArray(i)
                if (pair == null || pair.length() != 2 || pair.optInt(0) <= 0 || pair.optInt(1) <= 0) {
                    throw fail("'${ManifestKeys.RESOLUTIONS}' should be a list of [height, width] pairs")
                }
                Resolution(pair.getInt(0), pair.getInt(1))
            }
            if (resolutions.isEmpty()) throw fail("'${ManifestKeys.RESOLUTIONS}' is empty")

            val filesJson = obj(root, ManifestKeys.FILES)
            val files = LinkedHashMap<String, FileEntry>()
            for (rel in filesJson.keys()) {
                val entry = filesJson.optJSONObject(rel) ?: throw fail("bad entry for file '$rel'")
                val p = "${ManifestKeys.FILES}.$rel."
                val sha = str(entry, FileKeys.SHA256, p)
                if (sha.length != 64 || rel.startsWith("/") || rel.split('/').contains("..")) {
                    throw fail("bad entry for file '$rel'")
                }
                files[rel] = FileEntry(sha, int(entry, FileKeys.BYTES, p).toLong())
            }

            val graphsJson = obj(root, ManifestKeys.GRAPHS)
            val graphs = LinkedHashMap<String, Map<String, GraphSpec>>()
            for (res in resolutions) {
                val perSize = obj(graphsJson, res.key, "${ManifestKeys.GRAPHS}.")
                val specs = LinkedHashMap<String, GraphSpec>()
                for (name in GRAPH_NAMES) {
                    val p = "${ManifestKeys.GRAPHS}.${res.key}.$name."
                    val g = obj(perSize, name, "${ManifestKeys.GRAPHS}.${res.key}.")
                    val file = str(g, GraphKeys.FILE, p)
                    if (file !in files) throw fail("graph file '$file' is not listed under '${ManifestKeys.FILES}'")
                    specs[name] = GraphSpec(
                        file, str(g, GraphKeys.PRECISION, p),
                        tensors(arr(g, GraphKeys.INPUTS, p), p + GraphKeys.INPUTS),
                        tensors(arr(g, GraphKeys.OUTPUTS, p), p + GraphKeys.OUTPUTS)
                    )
                }
                graphs[res.key] = specs
            }

            val sampler = obj(root, ManifestKeys.SAMPLER)
            val sigmasJson = arr(sampler, SamplerKeys.SIGMAS, "${ManifestKeys.SAMPLER}.")
            val sigmas = DoubleArray(sigmasJson.length()) { i ->
                val v = sigmasJson.opt(i)
                if (v !is Number) throw fail("'${ManifestKeys.SAMPLER}.${SamplerKeys.SIGMAS}' should be a list of numbers")
                v.toDouble()
            }
            val kind = str(sampler, SamplerKeys.KIND, "${ManifestKeys.SAMPLER}.")
            try {
                Sampler(sigmas, kind)  // validates the kind and that the sigmas decrease
            } catch (e: IllegalArgumentException) {
                throw fail("'${ManifestKeys.SAMPLER}': ${e.message}")
            }
            val mode = str(root, ManifestKeys.GARMENT_FEATURES)
            if (mode != GarmentFeatureModes.CACHED && mode != GarmentFeatureModes.PER_STEP) {
                throw fail("'${ManifestKeys.GARMENT_FEATURES}' should be '${GarmentFeatureModes.CACHED}' or '${GarmentFeatureModes.PER_STEP}'")
            }
            val pre = obj(root, ManifestKeys.PREPROCESS)
            val pp = "${ManifestKeys.PREPROCESS}."
            int(pre, PreprocessKeys.VAE_FACTOR, pp)
            int(pre, PreprocessKeys.LATENT_CHANNELS, pp)
            // ImageOps.toModel/fromModel map pixels to [-1, 1]: refuse a bundle that expects another range
            val range = arr(pre, PreprocessKeys.PIXEL_RANGE, pp)
            if (range.length() != 2 || range.optDouble(0) != -1.0 || range.optDouble(1) != 1.0) {
                throw fail("'$pp${PreprocessKeys.PIXEL_RANGE}' is $range; this app supports [-1.0, 1.0]")
            }
            val catJson = arr(root, ManifestKeys.CATEGORIES)
            val categories = (0 until catJson.length()).map { catJson.getString(it) }
            if (categories.isEmpty()) throw fail("'${ManifestKeys.CATEGORIES}' is empty")

            val android = root.optJSONObject(ManifestKeys.ANDROID)
            val sourceGraphs = LinkedHashMap<String, String>()
            android?.optJSONObject(AndroidKeys.SOURCE_GRAPHS)?.let { s -> for (k in s.keys()) sourceGraphs[k] = s.getString(k) }

            return BundleManifest(
                name = str(root, ManifestKeys.NAME),
                trained = bool(root, ManifestKeys.TRAINED),
                target = target,
                resolutions = resolutions,
                samplerKind = kind,
                sigmas = sigmas,
                garmentFeatures = mode,
                adapterSize = int(pre, PreprocessKeys.ADAPTER_SIZE, pp),
                latentConcat = bool(pre, PreprocessKeys.LATENT_CONCAT, pp),
                categories = categories,
                graphs = graphs,
                files = files,
                license = root.optString(ManifestKeys.LICENSE, ""),
                converterOrtVersion = android?.optJSONObject(AndroidKeys.ORT_FORMAT)
                    ?.optString(OrtFormatKeys.ONNXRUNTIME)?.takeIf { it.isNotEmpty() },
                sourceGraphs = sourceGraphs,
                sourceManifestSha256 = android?.optJSONObject(AndroidKeys.SOURCE)
                    ?.optString(AndroidSourceKeys.MANIFEST_SHA256)?.takeIf { it.isNotEmpty() }
            )
        }
    }
}
