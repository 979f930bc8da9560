package org.mobilevton.studio

import ai.onnxruntime.NodeInfo
import ai.onnxruntime.OnnxTensor
import ai.onnxruntime.OrtEnvironment
import ai.onnxruntime.OrtException
import ai.onnxruntime.OrtSession
import ai.onnxruntime.TensorInfo
import java.io.File
import java.nio.FloatBuffer
import java.nio.LongBuffer
import java.util.concurrent.CancellationException

/*
 * The try-on pipeline on ONNX Runtime, mirroring engine/pipeline.py step for step:
 *
 * portrait, garment -> fit -> vae_encoder -> z_p, z_g; garment -> letterbox -> adapter -> tokens;
 * z_g -> garment_net -> per-layer features (once at the first sigma, or once per step);
 * noise -> few-step sampler over tryon_net -> top half of x0 -> vae_decoder -> un-fit -> result.
 *
 * Every graph file, tensor name and shape comes from the manifest. This class uses no Android
 * API (only ai.onnxruntime), so it is the same code on the device and in JVM tests.
 * Not thread-safe: one run at a time (the view model runs it on one background coroutine).
 */

data class Progress(val stage: String, val step: Int, val steps: Int) {
    companion object {
        const val LOAD = "load"
        const val ENCODE = "encode"
        const val GARMENT = "garment"
        const val DENOISE = "denoise"
        const val DECODE = "decode"
        const val DONE = "done"
    }
}

class TryOnRequest(
    val person: RgbImage,
    val garment: RgbImage,
    val category: String,
    val seed: Long,
    val resolution: Resolution? = null,  // null: the manifest's first
    val steps: Int? = null,  // null: the manifest's sigmas
    val garmentFeatures: String? = null  // null: the manifest's mode
)

/** [timingsMs]: milliseconds per stage (the Progress stage names; sessions count as load, the adapter as encode). */
class TryOnResult(val image: RgbImage, val resolution: Resolution, val steps: Int, val timingsMs: Map<String, Long>)

/** Start latent and fresh per-step noise. [NoiseSource] by default; tests inject the engine's noise. */
interface NoiseProvider {
    fun start(size: Int): FloatArray
    fun step(i: Int, size: Int): FloatArray
}

class SeededNoise(private val seed: Long) : NoiseProvider {
    override fun start(size: Int): FloatArray = NoiseSource(seed, size).start()
    override fun step(i: Int, size: Int): FloatArray = NoiseSource(seed, size).step(i)
}

/** An input for one graph run: float or int64 data with its manifest shape. */
class Feed private constructor(val floats: FloatArray?, val longs: LongArray?, val shape: LongArray) {
    companion object {
        fun of(data: FloatArray, spec: TensorSpec): Feed {
            if (data.size != spec.elementCount) {
                throw BundleException("input $spec needs ${spec.elementCount} values, got ${data.size}")
            }
            return Feed(data, null, spec.shape)
        }

        fun of(data: LongArray, spec: TensorSpec): Feed {
            if (data.size != spec.elementCount) {
                throw BundleException("input $spec needs ${spec.elementCount} values, got ${data.size}")
            }
            return Feed(null, data, spec.shape)
        }
    }
}

/**
 * Runs one graph of the bundle: [OrtGraphRunner] on the device; the JVM tests replay graph
 * outputs recorded from the Python engine through the same interface.
 */
interface GraphRunner : AutoCloseable {
    /** Load (once) and check the graph; called for every graph before the first run. */
    fun prepare(spec: GraphSpec)

    fun run(spec: GraphSpec, feeds: Map<String, Feed>): Map<String, FloatArray>

    /** Stop the graph in flight as soon as possible; [reset] before the next run. */
    fun cancel()

    fun reset()
}

/** ONNX Runtime sessions for the files of a bundle folder, created only after every file verified. */
class OrtGraphRunner(private val bundleDir: File, manifest: BundleManifest, private val threads: Int) : GraphRunner {
    private val env: OrtEnvironment = OrtEnvironment.getEnvironment()
    private val sessions = HashMap<String, OrtSession>()
    private val runOptions = OrtSession.RunOptions()

    @Volatile
    private var cancelled = false

    init {
        BundleFiles.verify(bundleDir, manifest)  // every sha256, before any session exists
    }

    override fun cancel() {
        cancelled = true
        runOptions.setTerminate(true)
    }

    override fun reset() {
        cancelled = false
        runOptions.setTerminate(false)
    }

    override fun prepare(spec: GraphSpec) {
        session(spec)
    }

    private fun session(spec: GraphSpec): OrtSession = sessions.getOrPut(spec.file) {
        val options = OrtSession.SessionOptions()
        // The .ort files were optimised once, at conversion (style Fixed, see models/export/android.py).
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT)
        options.setIntraOpNumThreads(threads)
        options.setInterOpNumThreads(1)
        // As the desktop engine: no CPU arena, no memory patterns (they keep each graph's peak
        // activations alive for the session's life; about 3x the peak memory, docs/benchmarks.md).
        options.setCPUArenaAllocator(false)
        options.setMemoryPatternOptimization(false)
        options.addConfigEntry("session.load_model_format", "ORT")
        val s = try {
            env.createSession(File(bundleDir, spec.file).absolutePath, options)
        } catch (e: OrtException) {
            throw BundleException("${spec.file}: cannot be loaded by ONNX Runtime (${e.message})")
        }
        checkAgainstManifest(spec, s.inputInfo, spec.inputs, "input")
        checkAgainstManifest(spec, s.outputInfo, spec.outputs, "output")
        s
    }

    private fun checkAgainstManifest(spec: GraphSpec, actual: Map<String, NodeInfo>, wanted: List<TensorSpec>, what: String) {
        if (actual.keys != wanted.map { it.name }.toSet()) {
            throw BundleException("${spec.file}: graph ${what}s ${actual.keys} differ from the manifest's ${wanted.map { it.name }}")
        }
        for (t in wanted) {
            val info = actual.getValue(t.name).info
            if (info is TensorInfo && !info.shape.contentEquals(t.shape)) {
                throw BundleException("${spec.file}: $what '${t.name}' is ${info.shape.contentToString()} in the graph, " +
                    "${t.shape.contentToString()} in the manifest")
            }
        }
    }

    override fun run(spec: GraphSpec, feeds: Map<String, Feed>): Map<String, FloatArray> {
        val s = session(spec)
        val tensors = LinkedHashMap<String, OnnxTensor>()
        try {
            for ((name, feed) in feeds) {
                tensors[name] = if (feed.floats != null) {
                    OnnxTensor.createTensor(env, FloatBuffer.wrap(feed.floats), feed.shape)
                } else {
                    OnnxTensor.createTensor(env, LongBuffer.wrap(feed.longs!!), feed.shape)
                }
            }
            val result = try {
                s.run(tensors, runOptions)
            } catch (e: OrtException) {
                if (cancelled) throw CancellationException("cancelled")
                throw BundleException("${spec.file}: ONNX Runtime failed (${e.message})")
            }
            result.use { r ->
                val out = LinkedHashMap<String, FloatArray>()
                for (o in spec.outputs) {
                    val value = r.get(o.name).orElseThrow { BundleException("${spec.file}: no output '${o.name}'") }
                    val buf = (value as OnnxTensor).floatBuffer
                    val arr = FloatArray(buf.remaining())
                    buf.get(arr)
                    out[o.name] = arr
                }
                return out
            }
        } finally {
            for (t in tensors.values) t.close()
        }
    }

    override fun close() {
        for (s in sessions.values) s.close()
        sessions.clear()
        runOptions.close()
    }
}

class TryOnPipeline(
    val manifest: BundleManifest,
    private val runner: GraphRunner,
    runtimeOrtVersion: String? = null
) : AutoCloseable {
    /** The device pipeline: ONNX Runtime sessions over the verified files of [bundleDir]. */
    constructor(bundleDir: File, manifest: BundleManifest, threads: Int, runtimeOrtVersion: String? = null) :
        this(manifest, OrtGraphRunner(bundleDir, checkConverter(manifest, runtimeOrtVersion), threads), runtimeOrtVersion)

    @Volatile
    private var cancelled = false

    init {
        checkConverter(manifest, runtimeOrtVersion)
    }

    /** Stop the run in flight as soon as possible (also interrupts a graph that is running). */
    fun cancel() {
        cancelled = true
        runner.cancel()
    }

    /** Load every graph for [resolution] now, and check the graphs fit together. */
    fun warmUp(resolution: Resolution = manifest.defaultResolution) {
        for (spec in manifest.graphs.getValue(resolution.key).values) runner.prepare(spec)
        val garmentNet = manifest.graph(resolution, GraphNames.GARMENT_NET)
        val tryon = manifest.graph(resolution, GraphNames.TRYON_NET)
        val produced = garmentNet.outputs.map { it.name }.filter { it.startsWith(GarmentNetIO.OUT_FEATURE_PREFIX) }
        val consumed = tryon.inputs.map { it.name }.filter { it.startsWith(TryonNetIO.IN_FEATURE_PREFIX) }
        if (produced.toSet() != consumed.toSet()) {
            throw BundleException("garment_net outputs $produced do not match tryon_net's feature inputs $consumed")
        }
    }

    private fun runGraph(spec: GraphSpec, feeds: Map<String, Feed>): Map<String, FloatArray> = runner.run(spec, feeds)

    // -- the pipeline -------------------------------------------------------------------------
    fun run(
        request: TryOnRequest,
        progress: (Progress) -> Unit = {},
        checkCancelled: () -> Unit = {},
        noise: NoiseProvider = SeededNoise(request.seed)
    ): TryOnResult {
        cancelled = false
        runner.reset()
        val timings = LinkedHashMap<String, Long>()
        var t = System.nanoTime()
        fun lap(name: String) {
            val now = System.nanoTime()
            timings[name] = (timings[name] ?: 0L) + (now - t) / 1_000_000
            t = now
        }
        fun check() {
            checkCancelled()
            if (cancelled) throw CancellationException("cancelled")
        }

        val sampler = Sampler.forSteps(manifest.sigmas, manifest.samplerKind, request.steps)
        val steps = sampler.steps
        progress(Progress(Progress.LOAD, 0, steps))
        val res = request.resolution ?: manifest.defaultResolution
        if (res !in manifest.resolutions) {
            throw BundleException("size ${res.key} is not in bundle '${manifest.name}' " +
                "(available: ${manifest.resolutions.joinToString { it.key }})")
        }
        val categoryIndex = manifest.categories.indexOf(request.category)
        if (categoryIndex < 0) throw BundleException("category '${request.category}' is not one of ${manifest.categories}")
        val mode = request.garmentFeatures ?: manifest.garmentFeatures

        val encoder = manifest.graph(res, GraphNames.VAE_ENCODER)
        val adapter = manifest.graph(res, GraphNames.ADAPTER)
        val garmentNet = manifest.graph(res, GraphNames.GARMENT_NET)
        val tryon = manifest.graph(res, GraphNames.TRYON_NET)
        val decoder = manifest.graph(res, GraphNames.VAE_DECODER)

        val (personFit, fit) = ImageOps.fitImage(request.person, res.height, res.width)
        val garmentFit = ImageOps.fitImage(request.garment, res.height, res.width).first
        val adapterIn = ImageOps.letterboxSquare(request.garment, manifest.adapterSize)
        lap(Progress.LOAD)
        warmUp(res)  // no-op once the sessions exist
        lap(Progress.LOAD)
        check()

        progress(Progress(Progress.ENCODE, 0, steps))
        val imageIn = encoder.input(VaeEncoderIO.IN_IMAGE)
        val zP = runGraph(encoder, mapOf(VaeEncoderIO.IN_IMAGE to Feed.of(ImageOps.toModel(personFit), imageIn)))
            .getValue(VaeEncoderIO.OUT_LATENT)
        val zG = runGraph(encoder, mapOf(VaeEncoderIO.IN_IMAGE to Feed.of(ImageOps.toModel(garmentFit), imageIn)))
            .getValue(VaeEncoderIO.OUT_LATENT)
        lap(Progress.ENCODE)
        val tokens = runGraph(adapter, mapOf(
            AdapterIO.IN_GARMENT to Feed.of(ImageOps.toModel(adapterIn), adapter.input(AdapterIO.IN_GARMENT))
        )).getValue(AdapterIO.OUT_IMAGE_TOKENS)
        lap(Progress.ENCODE)
        check()

        val category = LongArray(1) { categoryIndex.toLong() }
        fun garmentFeatures(sigma: Double): Map<String, FloatArray> = runGraph(garmentNet, mapOf(
            GarmentNetIO.IN_Z_GARMENT to Feed.of(zG, garmentNet.input(GarmentNetIO.IN_Z_GARMENT)),
            GarmentNetIO.IN_SIGMA to Feed.of(FloatArray(1) { sigma.toFloat() }, garmentNet.input(GarmentNetIO.IN_SIGMA)),
            GarmentNetIO.IN_CATEGORY to Feed.of(category, garmentNet.input(GarmentNetIO.IN_CATEGORY))
        ))

        progress(Progress(Progress.GARMENT, 0, steps))
        val cached = if (mode == GarmentFeatureModes.CACHED) garmentFeatures(sampler.sigmas[0]) else null
        lap(Progress.GARMENT)
        check()

        val xSpec = tryon.input(TryonNetIO.IN_X)
        val featureInputs = tryon.inputs.filter { it.name.startsWith(TryonNetIO.IN_FEATURE_PREFIX) }
        val velocity = { x: FloatArray, sigma: Double, _: Int ->
            val feats = cached ?: garmentFeatures(sigma).also { lap(Progress.GARMENT) }
            val feeds = LinkedHashMap<String, Feed>()
            feeds[TryonNetIO.IN_X] = Feed.of(x, xSpec)
            feeds[TryonNetIO.IN_Z_PERSON] = Feed.of(zP, tryon.input(TryonNetIO.IN_Z_PERSON))
            feeds[TryonNetIO.IN_Z_GARMENT] = Feed.of(zG, tryon.input(TryonNetIO.IN_Z_GARMENT))
            feeds[TryonNetIO.IN_SIGMA] = Feed.of(FloatArray(1) { sigma.toFloat() }, tryon.input(TryonNetIO.IN_SIGMA))
            feeds[TryonNetIO.IN_CATEGORY] = Feed.of(category, tryon.input(TryonNetIO.IN_CATEGORY))
            feeds[TryonNetIO.IN_IMAGE_TOKENS] = Feed.of(tokens, tryon.input(TryonNetIO.IN_IMAGE_TOKENS))
            for (f in featureInputs) feeds[f.name] = Feed.of(feats.getValue(f.name), f)
            runGraph(tryon, feeds).getValue(TryonNetIO.OUT_V)
        }

        progress(Progress(Progress.DENOISE, 0, steps))
        val x0 = sampler.sample(
            velocity,
            noise.start(xSpec.elementCount),
            { i -> noise.step(i, xSpec.elementCount) },
            { i ->
                lap(Progress.DENOISE)
                progress(Progress(Progress.DENOISE, i + 1, steps))
                check()
            }
        )

        progress(Progress(Progress.DECODE, steps, steps))
        // decode the top half of x0 (the person half when latents are stacked along height)
        val zShape = encoder.output(VaeEncoderIO.OUT_LATENT)
        val channels = xSpec.dim(1)
        val xh = xSpec.dim(2)
        val w = xSpec.dim(3)
        val h = zShape.dim(2)
        if (manifest.latentConcat && xh != 2 * h) {
            throw BundleException("latent_concat is set but tryon_net's x is $xSpec for latents of height $h")
        }
        val top = FloatArray(channels * h * w)
        for (c in 0 until channels) System.arraycopy(x0, c * xh * w, top, c * h * w, h * w)
        val imageOut = decoder.output(VaeDecoderIO.OUT_IMAGE)
        val decoded = runGraph(decoder, mapOf(VaeDecoderIO.IN_LATENT to Feed.of(top, decoder.input(VaeDecoderIO.IN_LATENT))))
            .getValue(VaeDecoderIO.OUT_IMAGE)
        val result = ImageOps.unfitImage(ImageOps.fromModel(decoded, imageOut.dim(2), imageOut.dim(3)), fit)
        lap(Progress.DECODE)
        progress(Progress(Progress.DONE, steps, steps))
        return TryOnResult(result, res, steps, timings)
    }

    override fun close() {
        runner.close()
    }

    companion object {
        /** Refuse a bundle whose .ort files were written by an onnxruntime newer than the app's. */
        fun checkConverter(manifest: BundleManifest, runtimeOrtVersion: String?): BundleManifest {
            val converter = manifest.converterOrtVersion
            if (runtimeOrtVersion != null && converter != null && compareVersions(converter, runtimeOrtVersion) > 0) {
                throw BundleException(
                    "bundle '${manifest.name}' was converted by onnxruntime $converter, newer than this app's " +
                        "onnxruntime-android $runtimeOrtVersion: rebuild the app with a matching onnxruntime-android"
                )
            }
            return manifest
        }

        /** Compare dotted versions numerically ("1.32.0" vs "1.9.1"); non-numeric parts count as 0. */
        fun compareVersions(a: String, b: String): Int {
            val pa = a.split('.', '-').map { it.toIntOrNull() ?: 0 }
            val pb = b.split('.', '-').map { it.toIntOrNull() ?: 0 }
            for (i in 0 until maxOf(pa.size, pb.size)) {
                val d = pa.getOrElse(i) { 0 } - pb.getOrElse(i) { 0 }
                if (d != 0) return Integer.signum(d)
            }
            return 0
        }
    }
}
