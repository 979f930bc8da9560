package org.mobilevton.studio

import android.content.ContentResolver
import android.content.ContentValues
import android.graphics.Bitmap
import android.graphics.BitmapFactory
import android.graphics.ImageDecoder
import android.graphics.Matrix
import android.net.Uri
import android.os.Build
import android.os.Environment
import android.provider.MediaStore
import android.provider.OpenableColumns
import androidx.annotation.RequiresApi
import androidx.exifinterface.media.ExifInterface
import java.io.IOException

/*
 * Images in and out of the app: decode what the user picked (gallery or camera) into an
 * upright RGB image as engine.images.load_image does (EXIF orientation honoured,
 * transparency composited onto white, clear messages naming the file), and save results to
 * the shared Pictures collection through MediaStore.
 */

class InputException(message: String) : Exception(message)

object AndroidImages {
    // Device memory guards, not model constants: a 50 MP photo is decoded at a fraction of
    // its size (the result is then returned at that decoded size). The model resolution
    // itself always comes from the manifest.
    private const val MAX_DECODE_SIDE = 4096
    private const val MIN_SIDE = 32  // as engine.images.MIN_SIDE: smaller inputs carry no usable detail
    private const val PREVIEW_SIDE = 720

    fun displayName(resolver: ContentResolver, uri: Uri): String {
        try {
            resolver.query(uri, arrayOf(OpenableColumns.DISPLAY_NAME), null, null, null)?.use { c ->
                if (c.moveToFirst()) {
                    val i = c.getColumnIndex(OpenableColumns.DISPLAY_NAME)
                    if (i >= 0) return c.getString(i) ?: uri.toString()
                }
            }
        } catch (e: Exception) {
            // fall through: some providers do not answer queries
        }
        return uri.lastPathSegment ?: uri.toString()
    }

    /** Decode [uri] into an upright RGB image and a small preview, or throw [InputException] naming the file. */
    fun load(resolver: ContentResolver, uri: Uri): Pair<RgbImage, Bitmap> {
        val name = displayName(resolver, uri)
        val bitmap = try {
            if (Build.VERSION.SDK_INT >= 28) decodeWithImageDecoder(resolver, uri, name) else decodeLegacy(resolver, uri, name)
        } catch (e: InputException) {
            throw e
        } catch (e: IOException) {
            throw InputException("$name: not an image, or an image format this device cannot read (${e.message})")
        } catch (e: OutOfMemoryError) {
            throw InputException("$name: image is too large to decode on this device")
        }
        if (Math.min(bitmap.width, bitmap.height) < MIN_SIDE) {
            throw InputException("$name: image is only ${bitmap.width}x${bitmap.height} pixels; " +
                "at least ${MIN_SIDE}x$MIN_SIDE is needed")
        }
        val rgb = toRgb(bitmap)
        // the preview only fills a thumbnail: keep a small copy, not a second full-size image
        val scale = Math.min(1.0, PREVIEW_SIDE.toDouble() / Math.max(bitmap.width, bitmap.height))
        val preview = if (scale < 1.0) {
            val w = Math.max(1, (bitmap.width * scale).toInt())
            val h = Math.max(1, (bitmap.height * scale).toInt())
            Bitmap.createScaledBitmap(bitmap, w, h, true).also { bitmap.recycle() }
        } else {
            bitmap
        }
        return Pair(rgb, preview)
    }

    private fun sampleSize(width: Int, height: Int): Int {
        var s = 1
        while (Math.max(width, height) / s > MAX_DECODE_SIDE) s *= 2
        return s
    }

    @RequiresApi(28)
    private fun decodeWithImageDecoder(resolver: ContentResolver, uri: Uri, name: String): Bitmap {
        val source = ImageDecoder.createSource(resolver, uri)
        try {
            // ImageDecoder applies the EXIF orientation itself
            return ImageDecoder.decodeBitmap(source) { decoder, info, _ ->
                decoder.allocator = ImageDecoder.ALLOCATOR_SOFTWARE  // pixels must be readable
                val s = sampleSize(info.size.width, info.size.height)
                if (s > 1) decoder.setTargetSampleSize(s)
                decoder.setOnPartialImageListener { false }  // a truncated file is an error, not half an image
            }
        } catch (e: ImageDecoder.DecodeException) {
            throw InputException("$name: image data is truncated or corrupt, or not an image (${e.message})")
        }
    }

    private fun decodeLegacy(resolver: ContentResolver, uri: Uri, name: String): Bitmap {
        val bounds = BitmapFactory.Options().apply { inJustDecodeBounds = true }
        val stream = resolver.openInputStream(uri) ?: throw InputException("$name: cannot be opened")
        stream.use { BitmapFactory.decodeStream(it, null, bounds) }  // fills bounds, returns no bitmap
        if (bounds.outWidth <= 0 || bounds.outHeight <= 0) {
            throw InputException("$name: not an image, or an image format this device cannot read")
        }
        val options = BitmapFactory.Options().apply {
            inSampleSize = sampleSize(bounds.outWidth, bounds.outHeight)
            inPreferredConfig = Bitmap.Config.ARGB_8888
        }
        val decoded = resolver.openInputStream(uri)?.use { BitmapFactory.decodeStream(it, null, options) }
            ?: throw InputException("$name: image data is truncated or corrupt")
        val orientation = resolver.openInputStream(uri)?.use {
            ExifInterface(it).getAttributeInt(ExifInterface.TAG_ORIENTATION, ExifInterface.ORIENTATION_NORMAL)
        } ?: ExifInterface.ORIENTATION_NORMAL
        val m = Matrix()
        when (orientation) {
            ExifInterface.ORIENTATION_FLIP_HORIZONTAL -> m.setScale(-1f, 1f)
            ExifInterface.ORIENTATION_ROTATE_180 -> m.setRotate(180f)
            ExifInterface.ORIENTATION_FLIP_VERTICAL -> m.setScale(1f, -1f)
            ExifInterface.ORIENTATION_TRANSPOSE -> { m.setRotate(90f); m.postScale(-1f, 1f) }
            ExifInterface.ORIENTATION_ROTATE_90 -> m.setRotate(90f)
            ExifInterface.ORIENTATION_TRANSVERSE -> { m.setRotate(-90f); m.postScale(-1f, 1f) }
            ExifInterface.ORIENTATION_ROTATE_270 -> m.setRotate(-90f)
            else -> return decoded
        }
        return Bitmap.createBitmap(decoded, 0, 0, decoded.width, decoded.height, m, true)
    }

    /** Any bitmap -> RGB bytes; transparency composited onto white (engine.images.to_rgb). */
    fun toRgb(bitmap: Bitmap): RgbImage {
        val argbBitmap = if (bitmap.config == Bitmap.Config.ARGB_8888) bitmap else bitmap.copy(Bitmap.Config.ARGB_8888, false)
        val pixels = IntArray(argbBitmap.width * argbBitmap.height)
        argbBitmap.getPixels(pixels, 0, argbBitmap.width, 0, 0, argbBitmap.width, argbBitmap.height)  // unpremultiplied
        return ImageOps.compositeOnWhite(pixels, argbBitmap.width, argbBitmap.height)
    }

    fun toBitmap(image: RgbImage): Bitmap {
        val pixels = IntArray(image.width * image.height) { i ->
            val r = image.data[i * 3].toInt() and 0xFF
            val g = image.data[i * 3 + 1].toInt() and 0xFF
            val b = image.data[i * 3 + 2].toInt() and 0xFF
            (0xFF shl 24) or (r shl 16) or (g shl 8) or b
        }
        return Bitmap.createBitmap(pixels, image.width, image.height, Bitmap.Config.ARGB_8888)
    }

    /** Save as PNG (lossless) into Pictures/MobileVTON; returns the new item's Uri. */
    fun saveToGallery(resolver: ContentResolver, bitmap: Bitmap, displayName: String): Uri {
        val values = ContentValues().apply {
            put(MediaStore.Images.Media.DISPLAY_NAME, displayName)
            put(MediaStore.Images.Media.MIME_TYPE, "image/png")
            if (Build.VERSION.SDK_INT >= 29) {
                put(MediaStore.Images.Media.RELATIVE_PATH, Environment.DIRECTORY_PICTURES + "/MobileVTON")
                put(MediaStore.Images.Media.IS_PENDING, 1)
            }
        }
        val collection = if (Build.VERSION.SDK_INT >= 29) {
            MediaStore.Images.Media.getContentUri(MediaStore.VOLUME_EXTERNAL_PRIMARY)
        } else {
            MediaStore.Images.Media.EXTERNAL_CONTENT_URI
        }
        val uri = resolver.insert(collection, values) ?: throw IOException("the gallery refused a new image")
        try {
            resolver.openOutputStream(uri)?.use { out ->
                if (!bitmap.compress(Bitmap.CompressFormat.PNG, 100, out)) throw IOException("PNG encoding failed")
            } ?: throw IOException("cannot write $uri")
            if (Build.VERSION.SDK_INT >= 29) {
                resolver.update(uri, ContentValues().apply { put(MediaStore.Images.Media.IS_PENDING, 0) }, null, null)
            }
        } catch (e: IOException) {
            resolver.delete(uri, null, null)  // never leave half an image in the gallery
            throw e
        }
        return uri
    }
}
