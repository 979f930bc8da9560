package org.mobilevton.studio

/*
 * The few-step flow-matching sampler, mirroring engine/sampler.py (pure Kotlin).
 *
 * Flow matching as SD3: x_sigma = (1 - sigma) * x0 + sigma * eps; the network predicts
 * v = eps - x0, so x0 = x - sigma * v. "renoise" (DMD2) draws fresh noise between steps:
 * x = (1 - sigma_next) * x0 + sigma_next * eps_new; "euler" takes x = x + (sigma_next - sigma) * v.
 * The last step returns x0. The arithmetic is float32 with the scalars rounded to float32
 * first, exactly as numpy evaluates the engine's expressions, so for the same noise this
 * gives the engine's latents bit for bit (checked by the JVM unit tests against golden
 * values made by engine/sampler.py).
 */
class Sampler(val sigmas: DoubleArray, val kind: String) {
    init {
        require(kind == SamplerKinds.RENOISE || kind == SamplerKinds.EULER) { "unknown sampler kind '$kind'" }
        require(sigmas.isNotEmpty()) { "sigmas must not be empty" }
        for (i in 1 until sigmas.size) {
            require(sigmas[i] < sigmas[i - 1]) { "sigmas must be strictly decreasing" }
        }
    }

    val steps: Int get() = sigmas.size

    fun nextSigma(i: Int): Double = if (i + 1 < sigmas.size) sigmas[i + 1] else 0.0

    /** Whether step [i] needs fresh noise (renoise, and not the last step). */
    fun needsNoise(i: Int): Boolean = kind == SamplerKinds.RENOISE && nextSigma(i) > 0.0

    /** One step from sigmas[i]: returns (xNext, x0). [noise] is used by renoise. */
    fun step(x: FloatArray, v: FloatArray, i: Int, noise: FloatArray?): Pair<FloatArray, FloatArray> {
        require(x.size == v.size) { "x and v differ in size" }
        val s = sigmas[i]
        val sNext = nextSigma(i)
        val sf = s.toFloat()
        val x0 = FloatArray(x.size)
        for (j in x.indices) x0[j] = x[j] - sf * v[j]
        if (sNext == 0.0) return Pair(x0, x0)
        val next = FloatArray(x.size)
        if (kind == SamplerKinds.EULER) {
            val d = (sNext - s).toFloat()
            for (j in x.indices) next[j] = x[j] + d * v[j]
            return Pair(next, x0)
        }
        requireNotNull(noise) { "renoise sampling needs fresh noise for every step but the last" }
        require(noise.size == x.size) { "noise and x differ in size" }
        val a = (1.0 - sNext).toFloat()
        val b = sNext.toFloat()
        for (j in x.indices) next[j] = a * x0[j] + b * noise[j]
        return Pair(next, x0)
    }

    /**
     * The whole loop, as engine.sampler.Sampler.sample. [velocity] (x, sigma, i) is the network;
     * [stepNoise] (i) gives the fresh noise after step i; [onStep] (i) runs after each step
     * (progress and the cancel check).
     */
    fun sample(
        velocity: (FloatArray, Double, Int) -> FloatArray,
        noise: FloatArray,
        stepNoise: (Int) -> FloatArray,
        onStep: (Int) -> Unit
    ): FloatArray {
        var x = noise
        var x0 = x
        for (i in sigmas.indices) {
            val v = velocity(x, sigmas[i], i)
            val fresh = if (needsNoise(i)) stepNoise(i) else null
            val r = step(x, v, i, fresh)
            x = r.first
            x0 = r.second
            onStep(i)
        }
        return x0
    }

    companion object {
        /** engine.sampler.default_sigmas: np.linspace(1, 0, steps + 1)[:-1], e.g. 4 -> 1, .75, .5, .25. */
        fun defaultSigmas(steps: Int): DoubleArray {
            require(steps >= 1) { "steps must be at least 1" }
            val step = -1.0 / steps
            return DoubleArray(steps) { i -> i * step + 1.0 }
        }

        /** engine.pipeline.TryOnPipeline.sampler_for: the manifest's sigmas, or evenly spaced ones for another count. */
        fun forSteps(manifestSigmas: DoubleArray, kind: String, steps: Int?): Sampler =
            if (steps == null || steps == manifestSigmas.size) Sampler(manifestSigmas, kind)
            else Sampler(defaultSigmas(steps), kind)
    }
}

/**
 * Seeded Gaussian noise with the engine's structure: the start latent and each step's fresh
 * noise come from their own streams (keys (0) and (1, i)), so cancelling or changing the step
 * count never shifts the noise of earlier steps.
 *
 * The streams themselves differ from the desktop's: numpy draws from PCG64 seeded through
 * SeedSequence with a ziggurat normal sampler, and this uses java.util.Random (its algorithm
 * and nextGaussian are specified by the Java documentation, so every Android device gives the
 * same numbers) seeded by SplitMix64 over (seed, key). The same seed therefore gives a
 * different, equally valid sample on Android and desktop: results differ by seed stream, not
 * by math. Fed identical noise, the two pipelines compute the same thing (see the unit tests).
 */
class NoiseSource(private val seed: Long, private val size: Int) {
    fun start(): FloatArray = gaussian(streamSeed(0L))

    fun step(i: Int): FloatArray = gaussian(streamSeed(1L, i.toLong()))

    private fun gaussian(streamSeed: Long): FloatArray {
        val rng = java.util.Random(streamSeed)
        return FloatArray(size) { rng.nextGaussian().toFloat() }
    }

    private fun streamSeed(vararg key: Long): Long {
        var h = splitMix64(seed)
        for (k in key) h = splitMix64(h xor splitMix64(k + 0x632BE59BD9B4E019L))
        return h
    }

    private fun splitMix64(v: Long): Long {
        var z = v + -0x61c8864680b583ebL  // 0x9E3779B97F4A7C15
        z = (z xor (z ushr 30)) * -0x40a7b892e31b1a47L  // 0xBF58476D1CE4E5B9
        z = (z xor (z ushr 27)) * -0x6b2fb644ecceee15L  // 0x94D049BB133111EB
        return z xor (z ushr 31)
    }
}
