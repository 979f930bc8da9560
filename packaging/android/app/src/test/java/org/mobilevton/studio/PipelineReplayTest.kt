package org.mobilevton.studio

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assume.assumeTrue
import org.junit.Test
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.util.Base64

/**
 * The Kotlin pipeline against the Python engine on a real Android bundle, call by call.
 *
 * `python packaging/android/scripts/make_golden.py --replay BUNDLE DIR` runs two try-ons of
 * BUNDLE through engine/pipeline.py and records every graph call (inputs and outputs), the
 * noise and the result. Here TryOnPipeline runs the same requests with a GraphRunner that
 * replays the recorded outputs: every tensor it feeds each graph, and the final image, must
 * equal the engine's byte for byte. That covers fit, letterbox, normalisation, garment
 * features (cached and per step), the sampler, the top-half decode and un-fit; only ONNX
 * Runtime itself is replaced. Set VTON_REPLAY=DIR (CI does); skipped otherwise.
 */
class PipelineReplayTest {
    private class Call(val file: String, val feeds: Map<String, Recorded>, val outputs: Map<String, FloatArray>)

    private class Recorded(val dtype: String, val shape: LongArray, val bytes: ByteArray)

    private class Run(
        val category: String, val seed: Long, val mode: String, val resolution: Resolution,
        val person: RgbImage, val garment: RgbImage, val start: FloatArray, val stepNoise: List<FloatArray>,
        val calls: List<Call>, val result: RgbImage
    )

    private class ReplayRunner(private val calls: List<Call>) : GraphRunner {
        var next = 0

        override fun prepare(spec: GraphSpec) = Unit
        override fun cancel() = Unit
        override fun reset() = Unit
        override fun close() = Unit

        override fun run(spec: GraphSpec, feeds: Map<String, Feed>): Map<String, FloatArray> {
            if (next >= calls.size) throw AssertionError("call ${next + 1} to ${spec.file}: the engine made only ${calls.size}")
            val call = calls[next++]
            assertEquals("call $next runs another graph than the engine's", call.file, spec.file)
            assertEquals("call $next (${spec.file}) feeds", call.feeds.keys, feeds.keys)
            for ((name, feed) in feeds) {
                val want = call.feeds.getValue(name)
                assertArrayEquals("call $next (${spec.file}) '$name' shape", want.shape, feed.shape)
                val fl = feed.floats
                val lg = feed.longs
                val got = if (fl != null) {
                    assertEquals("call $next '$name' dtype", "float32", want.dtype)
                    ByteBuffer.allocate(fl.size * 4).order(ByteOrder.LITTLE_ENDIAN).also { it.asFloatBuffer().put(fl) }.array()
                } else {
                    assertEquals("call $next '$name' dtype", "int64", want.dtype)
                    ByteBuffer.allocate(lg!!.size * 8).order(ByteOrder.LITTLE_ENDIAN).also { it.asLongBuffer().put(lg) }.array()
                }
                if (!want.bytes.contentEquals(got)) {
                    val i = want.bytes.indices.first { want.bytes[it] != got.getOrElse(it) { 0 } } / (if (fl != null) 4 else 8)
                    throw AssertionError("call $next (${spec.file}) input '$name' differs from the engine's at element $i")
                }
            }
            return call.outputs
        }
    }

    private fun b64(s: String): ByteArray = Base64.getDecoder().decode(s)

    private fun floats(s: String): FloatArray {
        val buf = ByteBuffer.wrap(b64(s)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
        return FloatArray(buf.remaining()).also { buf.get(it) }
    }

    private fun shape(s: String): LongArray = s.split(",").map { it.toLong() }.toLongArray()

    private fun parse(lines: List<String>): List<Run> {
        val runs = ArrayList<Run>()
        var i = 0
        fun fields(): List<String> = lines[i++].split(" ")
        while (i < lines.size) {
            val head = fields()
            if (head[0] != "run") continue
            val p = fields()
            val g = fields()
            val start = floats(fields()[2])
            val noise = ArrayList<FloatArray>()
            val calls = ArrayList<Call>()
            var result: RgbImage? = null
            while (result == null) {
                val f = fields()
                when (f[0]) {
                    "noise" -> noise.add(floats(f[2]))
                    "call" -> {
                        val feeds = LinkedHashMap<String, Recorded>()
                        val outputs = LinkedHashMap<String, FloatArray>()
                        repeat(f[2].toInt()) { val x = fields(); feeds[x[1]] = Recorded(x[2], shape(x[3]), b64(x[4])) }
                        repeat(f[3].toInt()) { val x = fields(); outputs[x[1]] = floats(x[3]) }
                        calls.add(Call(f[1], feeds, outputs))
                    }
                    "result" -> result = RgbImage(f[1].toInt(), f[2].toInt(), b64(f[3]))
                    else -> throw AssertionError("unexpected record '${f[0]}'")
                }
            }
            runs.add(Run(
                head[1], head[2].toLong(), head[3], Resolution(head[4].toInt(), head[5].toInt()),
                RgbImage(p[1].toInt(), p[2].toInt(), b64(p[3])), RgbImage(g[1].toInt(), g[2].toInt(), b64(g[3])),
                start, noise, calls, result
            ))
        }
        return runs
    }

    @Test
    fun kotlinPipelineFeedsEveryGraphWhatTheEngineFeedsIt() {
        val dir = System.getenv("VTON_REPLAY")?.takeIf { it.isNotEmpty() }?.let { File(it) }
        assumeTrue("set VTON_REPLAY to a folder written by make_golden.py --replay", dir != null && dir.isDirectory)
        val manifest = BundleManifest.parse(File(dir, BundleFormat.MANIFEST_FILE).readText(), "manifest.json")
        val runs = parse(File(dir, "replay.txt").readLines().filter { it.isNotBlank() && !it.startsWith("#") })
        assertEquals(2, runs.size)
        for (run in runs) {
            val runner = ReplayRunner(run.calls)
            val pipeline = TryOnPipeline(manifest, runner)
            val noise = object : NoiseProvider {
                override fun start(size: Int): FloatArray = run.start.also { assertEquals(size, it.size) }
                override fun step(i: Int, size: Int): FloatArray = run.stepNoise[i]
            }
            val request = TryOnRequest(run.person, run.garment, run.category, run.seed, run.resolution, null, run.mode)
            val stages = ArrayList<String>()
            val result = pipeline.run(request, { stages.add("${it.stage}:${it.step}/${it.steps}") }, {}, noise)
            assertEquals("every recorded graph call was made", run.calls.size, runner.next)
            assertEquals(run.result.width, result.image.width)
            assertEquals(run.result.height, result.image.height)
            assertArrayEquals("${run.category}/${run.mode}: result image", run.result.data, result.image.data)
            assertEquals("${Progress.DONE}:${manifest.sigmas.size}/${manifest.sigmas.size}", stages.last())
        }
    }
}
