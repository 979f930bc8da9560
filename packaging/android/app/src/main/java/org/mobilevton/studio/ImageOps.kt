package org.mobilevton.studio

/*
 * Pre- and post-processing, mirroring engine/images.py operation for operation (pure Kotlin,
 * no Android classes, so the JVM unit tests check it against golden values made by the
 * Python engine):
 *
 *   fit_image     resize to fit the model canvas keeping the aspect, pad by edge replication
 *   unfit_image   crop the image region back out, resize to the portrait's own size
 *   resize_square letterbox onto a white square (the adapter's input)
 *   to_model      uint8 HWC -> float32 NCHW in [-1, 1]
 *   from_model    float NCHW in [-1, 1] -> uint8 HWC
 *
 * Resizing is a port of Pillow's LANCZOS resampler (libImaging/Resample.c: separable
 * 3-lobe Lanczos, 22-bit fixed-point coefficients, horizontal pass then vertical pass, each
 * clipped to 8 bits), and sizes are rounded half-to-even as Python's round() does, so a
 * decoded image goes through exactly the arithmetic the desktop engine applies.
 */

/** An RGB image, 8 bits per channel, rows top to bottom, 3 bytes per pixel. */
class RgbImage(val width: Int, val height: Int, val data: ByteArray = ByteArray(width * height * 3)) {
    init {
        require(width > 0 && height > 0) { "image size must be positive, got ${width}x$height" }
        require(data.size == width * height * 3) { "expected ${width * height * 3} bytes, got ${data.size}" }
    }

    fun get(x: Int, y: Int, c: Int): Int = data[(y * width + x) * 3 + c].toInt() and 0xFF

    fun set(x: Int, y: Int, c: Int, value: Int) {
        data[(y * width + x) * 3 + c] = value.toByte()
    }
}

/** How an image was placed in the model canvas, so the result can be put back (engine.images.Fit). */
data class Fit(
    val sourceHeight: Int,
    val sourceWidth: Int,
    val canvasHeight: Int,
    val canvasWidth: Int,
    val top: Int,
    val left: Int,
    val height: Int,
    val width: Int
)

object ImageOps {
    private const val PRECISION_BITS = 32 - 8 - 2  // Pillow: 8 bits of result, 2 for overflow
    private const val LANCZOS_SUPPORT = 3.0

    /** Python's round() for the non-negative sizes used here: ties go to the even neighbour. */
    fun pythonRound(x: Double): Int = Math.rint(x).toInt()

    /** engine.images.fit_image: fit inside (height, width), keep the aspect, pad by edge replication. */
    fun fitImage(image: RgbImage, height: Int, width: Int): Pair<RgbImage, Fit> {
        val h0 = image.height
        val w0 = image.width
        val scale = Math.min(height.toDouble() / h0, width.toDouble() / w0)
        val h = Math.max(1, Math.min(height, pythonRound(h0 * scale)))
        val w = Math.max(1, Math.min(width, pythonRound(w0 * scale)))
        val resized = resizeLanczos(image, w, h)
        val top = (height - h) / 2
        val left = (width - w) / 2
        val canvas = RgbImage(width, height)
        for (y in 0 until height) {
            val sy = clamp(y - top, 0, h - 1)
            for (x in 0 until width) {
                val sx = clamp(x - left, 0, w - 1)
                val src = (sy * w + sx) * 3
                val dst = (y * width + x) * 3
                canvas.data[dst] = resized.data[src]
                canvas.data[dst + 1] = resized.data[src + 1]
                canvas.data[dst + 2] = resized.data[src + 2]
            }
        }
        return Pair(canvas, Fit(h0, w0, height, width, top, left, h, w))
    }

    /** engine.images.unfit_image: crop the image region out of a model-size result, resize to the source size. */
    fun unfitImage(result: RgbImage, fit: Fit): RgbImage {
        val crop = crop(result, fit.left, fit.top, fit.width, fit.height)
        if (crop.width == fit.sourceWidth && crop.height == fit.sourceHeight) return crop
        return resizeLanczos(crop, fit.sourceWidth, fit.sourceHeight)
    }

    /** engine.images.resize_square: letterbox into a white square of side [side]. */
    fun letterboxSquare(image: RgbImage, side: Int): RgbImage {
        val h0 = image.height
        val w0 = image.width
        val scale = side.toDouble() / Math.max(h0, w0)
        val h = Math.max(1, pythonRound(h0 * scale))
        val w = Math.max(1, pythonRound(w0 * scale))
        val resized = resizeLanczos(image, w, h)
        val canvas = RgbImage(side, side)
        java.util.Arrays.fill(canvas.data, 255.toByte())
        val top = (side - h) / 2
        val left = (side - w) / 2
        for (y in 0 until h) {
            System.arraycopy(resized.data, y * w * 3, canvas.data, ((top + y) * side + left) * 3, w * 3)
        }
        return canvas
    }

    /**
     * engine.images.to_rgb for images with transparency: non-premultiplied ARGB pixels
     * (Android's Bitmap.getPixels) composited onto opaque white with Pillow's integer
     * alpha_composite arithmetic (7 extra bits, divisions by 255 rounded).
     */
    fun compositeOnWhite(argb: IntArray, width: Int, height: Int): RgbImage {
        require(argb.size == width * height) { "expected ${width * height} pixels, got ${argb.size}" }
        val out = RgbImage(width, height)
        for (i in argb.indices) {
            val p = argb[i]
            val a = (p ushr 24) and 0xFF
            for (c in 0 until 3) {
                val src = (p shr (16 - 8 * c)) and 0xFF
                val v = if (a == 0) {
                    255
                } else {
                    // dst is white and opaque: outa255 = 255 * 255, coef1 = a << 7, coef2 = (255 - a) << 7
                    val tmp = src * (a shl 7) + 255 * ((255 - a) shl 7) + (0x80 shl 7)
                    (((tmp shr 8) + tmp) shr 8) shr 7
                }
                out.data[i * 3 + c] = v.toByte()
            }
        }
        return out
    }

    fun crop(image: RgbImage, left: Int, top: Int, width: Int, height: Int): RgbImage {
        val out = RgbImage(width, height)
        for (y in 0 until height) {
            System.arraycopy(image.data, ((top + y) * image.width + left) * 3, out.data, y * width * 3, width * 3)
        }
        return out
    }

    /** engine.images.to_model: uint8 HWC -> float32 NCHW (batch 1) in [-1, 1]. */
    fun toModel(image: RgbImage): FloatArray {
        val plane = image.width * image.height
        val out = FloatArray(3 * plane)
        for (i in 0 until plane) {
            for (c in 0 until 3) {
                out[c * plane + i] = (image.data[i * 3 + c].toInt() and 0xFF).toFloat() / 127.5f - 1.0f
            }
        }
        return out
    }

    /** engine.images.from_model: float NCHW (batch 1) in [-1, 1] -> uint8 HWC. */
    fun fromModel(x: FloatArray, height: Int, width: Int): RgbImage {
        val plane = width * height
        require(x.size == 3 * plane) { "expected ${3 * plane} values for a 3x${height}x$width image, got ${x.size}" }
        val out = RgbImage(width, height)
        for (i in 0 until plane) {
            for (c in 0 until 3) {
                val v = (x[c * plane + i] + 1.0f) * 127.5f + 0.5f
                out.data[i * 3 + c] = (if (v.isNaN()) 0 else Math.min(255.0f, Math.max(0.0f, v)).toInt()).toByte()
            }
        }
        return out
    }

    // -- Pillow's LANCZOS resampler ------------------------------------------------------------
    private class Coefficients(val ksize: Int, val bounds: IntArray, val k: IntArray)

    private fun sinc(x: Double): Double {
        if (x == 0.0) return 1.0
        val y = x * Math.PI
        return StrictMath.sin(y) / y
    }

    private fun lanczos(x: Double): Double =
        if (-3.0 <= x && x < 3.0) sinc(x) * sinc(x / 3.0) else 0.0

    /** precompute_coeffs + normalize_coeffs_8bpc for a box covering the whole input. */
    private fun coefficients(inSize: Int, outSize: Int): Coefficients {
        val scale = inSize.toDouble() / outSize
        val filterscale = if (scale < 1.0) 1.0 else scale
        val support = LANCZOS_SUPPORT * filterscale
        val ksize = Math.ceil(support).toInt() * 2 + 1
        val bounds = IntArray(outSize * 2)
        val k = IntArray(outSize * ksize)
        val w = DoubleArray(ksize)
        val ss = 1.0 / filterscale
        for (xx in 0 until outSize) {
            val center = (xx + 0.5) * scale
            var xmin = (center - support + 0.5).toInt()
            if (xmin < 0) xmin = 0
            var xmax = (center + support + 0.5).toInt()
            if (xmax > inSize) xmax = inSize
            xmax -= xmin
            var ww = 0.0
            for (x in 0 until xmax) {
                w[x] = lanczos(((x + xmin) - center + 0.5) * ss)
                ww += w[x]
            }
            for (x in 0 until xmax) {
                val v = if (ww != 0.0) w[x] / ww else w[x]
                k[xx * ksize + x] = if (v < 0) (-0.5 + v * (1 shl PRECISION_BITS)).toInt()
                else (0.5 + v * (1 shl PRECISION_BITS)).toInt()
            }
            bounds[xx * 2] = xmin
            bounds[xx * 2 + 1] = xmax
        }
        return Coefficients(ksize, bounds, k)
    }

    private fun clip8(v: Int): Int = clamp(v shr PRECISION_BITS, 0, 255)

    private fun clamp(v: Int, lo: Int, hi: Int): Int = if (v < lo) lo else if (v > hi) hi else v

    /** Image.resize((newWidth, newHeight), Image.Resampling.LANCZOS) for an RGB image. */
    fun resizeLanczos(image: RgbImage, newWidth: Int, newHeight: Int): RgbImage {
        var current = image
        if (newWidth != image.width) {
            val co = coefficients(image.width, newWidth)
            val out = RgbImage(newWidth, image.height)
            for (y in 0 until image.height) {
                val row = y * image.width
                for (xx in 0 until newWidth) {
                    val xmin = co.bounds[xx * 2]
                    val n = co.bounds[xx * 2 + 1]
                    val base = xx * co.ksize
                    var s0 = 1 shl (PRECISION_BITS - 1)
                    var s1 = s0
                    var s2 = s0
                    for (x in 0 until n) {
                        val p = (row + x + xmin) * 3
                        val kx = co.k[base + x]
                        s0 += (current.data[p].toInt() and 0xFF) * kx
                        s1 += (current.data[p + 1].toInt() and 0xFF) * kx
                        s2 += (current.data[p + 2].toInt() and 0xFF) * kx
                    }
                    val d = (y * newWidth + xx) * 3
                    out.data[d] = clip8(s0).toByte()
                    out.data[d + 1] = clip8(s1).toByte()
                    out.data[d + 2] = clip8(s2).toByte()
                }
            }
            current = out
        }
        if (newHeight != image.height) {
            val co = coefficients(image.height, newHeight)
            val w = current.width
            val out = RgbImage(w, newHeight)
            for (yy in 0 until newHeight) {
                val ymin = co.bounds[yy * 2]
                val n = co.bounds[yy * 2 + 1]
                val base = yy * co.ksize
                for (x in 0 until w) {
                    var s0 = 1 shl (PRECISION_BITS - 1)
                    var s1 = s0
                    var s2 = s0
                    for (y in 0 until n) {
                        val p = ((y + ymin) * w + x) * 3
                        val ky = co.k[base + y]
                        s0 += (current.data[p].toInt() and 0xFF) * ky
                        s1 += (current.data[p + 1].toInt() and 0xFF) * ky
                        s2 += (current.data[p + 2].toInt() and 0xFF) * ky
                    }
                    val d = (yy * w + x) * 3
                    out.data[d] = clip8(s0).toByte()
                    out.data[d + 1] = clip8(s1).toByte()
                    out.data[d + 2] = clip8(s2).toByte()
                }
            }
            current = out
        }
        return if (current === image) RgbImage(image.width, image.height, image.data.copyOf()) else current
    }
}
