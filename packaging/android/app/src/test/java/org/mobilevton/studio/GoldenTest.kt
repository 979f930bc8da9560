package org.mobilevton.studio

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Test
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.util.Base64

/**
 * ImageOps and Sampler against golden values computed by the Python engine
 * (packaging/android/scripts/make_golden.py writes golden.txt from engine/images.py,
 * engine/sampler.py and Pillow). Every byte and every float must match exactly.
 */
class GoldenTest {
    private val records: List<List<String>> by lazy {
        val stream = javaClass.classLoader!!.getResourceAsStream("golden.txt")
            ?: throw AssertionError("golden.txt is missing from the test resources")
        stream.bufferedReader().readLines().filter { it.isNotBlank() && !it.startsWith("#") }.map { it.split(" ") }
    }

    private fun of(kind: String): List<List<String>> {
        val r = records.filter { it[0] == kind }
        if (r.isEmpty()) throw AssertionError("no '$kind' records in golden.txt")
        return r
    }

    private fun bytes(b64: String): ByteArray = Base64.getDecoder().decode(b64)

    private fun image(w: String, h: String, b64: String): RgbImage = RgbImage(w.toInt(), h.toInt(), bytes(b64))

    private fun floats(b64: String): FloatArray {
        val buf = ByteBuffer.wrap(bytes(b64)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer()
        val out = FloatArray(buf.remaining())
        buf.get(out)
        return out
    }

    private fun assertBitsEqual(what: String, expected: FloatArray, actual: FloatArray) {
        assertEquals("$what: length", expected.size, actual.size)
        for (i in expected.indices) {
            if (java.lang.Float.floatToIntBits(expected[i]) != java.lang.Float.floatToIntBits(actual[i])) {
                throw AssertionError("$what: element $i is ${actual[i]}, the engine gives ${expected[i]}")
            }
        }
    }

    @Test
    fun resizeMatchesPillowLanczos() {
        for (r in of("resize")) {
            val out = ImageOps.resizeLanczos(image(r[2], r[3], r[6]), r[4].toInt(), r[5].toInt())
            assertArrayEquals("resize ${r[1]}", bytes(r[7]), out.data)
        }
    }

    @Test
    fun fitMatchesEngine() {
        for (r in of("fit")) {
            val (canvas, fit) = ImageOps.fitImage(image(r[2], r[3], r[6]), r[4].toInt(), r[5].toInt())
            assertEquals("fit ${r[1]} box", listOf(r[8], r[9], r[10], r[11]).map { it.toInt() },
                listOf(fit.top, fit.left, fit.height, fit.width))
            assertArrayEquals("fit ${r[1]}", bytes(r[7]), canvas.data)
        }
    }

    @Test
    fun unfitMatchesEngine() {
        for (r in of("unfit")) {
            val canvasW = r[2].toInt()
            val canvasH = r[3].toInt()
            val fit = Fit(r[4].toInt(), r[5].toInt(), canvasH, canvasW, r[6].toInt(), r[7].toInt(), r[8].toInt(), r[9].toInt())
            val out = ImageOps.unfitImage(RgbImage(canvasW, canvasH, bytes(r[10])), fit)
            assertEquals(fit.sourceWidth, out.width)
            assertEquals(fit.sourceHeight, out.height)
            assertArrayEquals("unfit ${r[1]}", bytes(r[11]), out.data)
        }
    }

    @Test
    fun letterboxMatchesEngine() {
        for (r in of("letterbox")) {
            val out = ImageOps.letterboxSquare(image(r[2], r[3], r[5]), r[4].toInt())
            assertArrayEquals("letterbox ${r[1]}", bytes(r[6]), out.data)
        }
    }

    @Test
    fun normalisationMatchesEngine() {
        for (r in of("to_model")) {
            assertBitsEqual("to_model ${r[1]}", floats(r[5]), ImageOps.toModel(image(r[2], r[3], r[4])))
        }
        for (r in of("from_model")) {
            val out = ImageOps.fromModel(floats(r[4]), r[3].toInt(), r[2].toInt())
            assertArrayEquals("from_model ${r[1]}", bytes(r[5]), out.data)
        }
    }

    @Test
    fun transparencyCompositesOntoWhiteAsPillow() {
        for (r in of("composite")) {
            val ints = ByteBuffer.wrap(bytes(r[4])).order(ByteOrder.BIG_ENDIAN).asIntBuffer()
            val argb = IntArray(ints.remaining())
            ints.get(argb)
            val out = ImageOps.compositeOnWhite(argb, r[2].toInt(), r[3].toInt())
            assertArrayEquals("composite ${r[1]}", bytes(r[5]), out.data)
        }
    }

    @Test
    fun defaultSigmasMatchNumpyLinspace() {
        for (r in of("sigmas")) {
            val expected = r[2].split(",").map { it.toDouble() }.toDoubleArray()
            assertArrayEquals("sigmas for ${r[1]} steps", expected, Sampler.defaultSigmas(r[1].toInt()), 0.0)
        }
    }

    @Test
    fun samplerMatchesEngineBitForBit() {
        for (r in of("sample")) {
            val sigmas = r[2].split(",").map { it.toDouble() }.toDoubleArray()
            val start = floats(r[3])
            val vs = r[4].split(";").map { floats(it) }
            val fresh = r[5].split(";").map { floats(it) }
            val sampler = Sampler(sigmas, r[1])
            val calls = ArrayList<Int>()
            val x0 = sampler.sample({ _, _, i -> vs[i] }, start, { i -> fresh[i] }, { i -> calls.add(i) })
            assertEquals((0 until sigmas.size).toList(), calls)
            assertBitsEqual("sample ${r[1]} ${r[2]}", floats(r[6]), x0)
        }
    }

    @Test
    fun noiseStreamsAreSeededAndIndependentOfStepCount() {
        val a = NoiseSource(7L, 64)
        val b = NoiseSource(7L, 64)
        assertArrayEquals(a.start(), b.start(), 0.0f)
        assertArrayEquals(a.step(2), b.step(2), 0.0f)
        val c = NoiseSource(8L, 64)
        assertEquals(false, a.start().contentEquals(c.start()))
        assertEquals(false, a.step(0).contentEquals(a.step(1)))
        // roughly standard normal
        val big = NoiseSource(1L, 100_000).start()
        val mean = big.average()
        val variance = big.map { (it - mean) * (it - mean) }.average()
        assertEquals(0.0, mean, 0.02)
        assertEquals(1.0, variance, 0.03)
    }
}
