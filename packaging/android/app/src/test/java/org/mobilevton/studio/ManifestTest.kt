package org.mobilevton.studio

import org.json.JSONArray
import org.json.JSONObject
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.Assume.assumeTrue
import org.junit.Test
import java.io.File

/**
 * BundleManifest reads a real exported Android manifest (the one installVtonBundle copied into
 * the assets, when present: CI always has one) and refuses broken ones with a message naming
 * the field, as engine/bundle.py does.
 */
class ManifestTest {
    private val assetBundle = File("src/main/assets/bundle")

    private fun minimal(): JSONObject {
        val tensor = { name: String, shape: List<Int> -> JSONObject().put("name", name).put("shape", JSONArray(shape)) }
        val graph = { file: String ->
            JSONObject().put("file", file).put("precision", "int8")
                .put("inputs", JSONArray().put(tensor("a", listOf(1, 2)))).put("outputs", JSONArray().put(tensor("b", listOf(1))))
        }
        val graphs = JSONObject()
        for (g in listOf("vae_encoder", "garment_net", "adapter", "tryon_net", "vae_decoder")) graphs.put(g, graph("$g.ort"))
        val files = JSONObject()
        for (g in listOf("vae_encoder", "garment_net", "adapter", "tryon_net", "vae_decoder")) {
            files.put("$g.ort", JSONObject().put("sha256", "0".repeat(64)).put("bytes", 1))
        }
        return JSONObject()
            .put("format", "mobile-vton-bundle").put("format_version", 1).put("name", "t").put("trained", false)
            .put("target", "android").put("resolutions", JSONArray().put(JSONArray(listOf(32, 24))))
            .put("sampler", JSONObject().put("kind", "renoise").put("sigmas", JSONArray(listOf(1.0, 0.5))))
            .put("garment_features", "cached")
            .put("preprocess", JSONObject().put("adapter_size", 28).put("vae_factor", 8).put("latent_channels", 16)
                .put("latent_concat", true).put("pixel_range", JSONArray(listOf(-1.0, 1.0))))
            .put("categories", JSONArray(listOf("upper", "lower", "dress")))
            .put("graphs", JSONObject().put("32x24", graphs))
            .put("files", files)
    }

    private fun assertRefused(json: JSONObject, fragment: String) {
        try {
            BundleManifest.parse(json.toString(), "manifest.json")
            fail("a manifest with a bad '$fragment' was accepted")
        } catch (e: BundleException) {
            assertTrue("message '${e.message}' should mention '$fragment'", e.message!!.contains(fragment))
        }
    }

    @Test
    fun readsAMinimalManifest() {
        val m = BundleManifest.parse(minimal().toString(), "manifest.json")
        assertEquals(Resolution(32, 24), m.defaultResolution)
        assertEquals(listOf("upper", "lower", "dress"), m.categories)
        assertEquals(2, m.sigmas.size)
        assertEquals(28, m.adapterSize)
        assertEquals("tryon_net.ort", m.graph(m.defaultResolution, GraphNames.TRYON_NET).file)
    }

    @Test
    fun refusesBrokenManifests() {
        assertRefused(minimal().put("format", "other"), "format")
        assertRefused(minimal().put("format_version", 99), "format_version")
        assertRefused(minimal().put("target", "desktop"), "target")
        assertRefused(minimal().put("garment_features", "sometimes"), "garment_features")
        assertRefused(minimal().put("sampler", JSONObject().put("kind", "renoise").put("sigmas", JSONArray(listOf(0.5, 1.0)))), "sampler")
        assertRefused(minimal().put("sampler", JSONObject().put("kind", "ddim").put("sigmas", JSONArray(listOf(1.0)))), "sampler")
        val noEncoder = minimal()
        noEncoder.getJSONObject("graphs").getJSONObject("32x24").remove("vae_encoder")
        assertRefused(noEncoder, "vae_encoder")
        val range = minimal()
        range.getJSONObject("preprocess").put("pixel_range", JSONArray(listOf(0.0, 1.0)))
        assertRefused(range, "pixel_range")
        assertRefused(minimal().put("categories", JSONArray()), "categories")
    }

    @Test
    fun readsTheExportedBundleAndItsFilesVerify() {
        val manifestFile = File(assetBundle, BundleFormat.MANIFEST_FILE)
        assumeTrue("no bundle in $assetBundle (run installVtonBundle)", manifestFile.isFile)
        val m = BundleManifest.parse(manifestFile.readText(), manifestFile.path)
        assertEquals(BundleFormat.TARGET_ANDROID, m.target)
        assertTrue("the .ort files record their source graphs", m.sourceGraphs.isNotEmpty())
        assertEquals(m.files.size, m.sourceGraphs.size)
        assertEquals(emptyList<String>(), BundleFiles.problems(assetBundle, m))
        for (res in m.resolutions) {
            val tryon = m.graph(res, GraphNames.TRYON_NET)
            val x = tryon.input(TryonNetIO.IN_X)
            val z = m.graph(res, GraphNames.VAE_ENCODER).output(VaeEncoderIO.OUT_LATENT)
            assertEquals(if (m.latentConcat) 2 * z.dim(2) else z.dim(2), x.dim(2))
        }
    }
}
