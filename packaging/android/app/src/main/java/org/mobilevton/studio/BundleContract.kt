package org.mobilevton.studio

/*
 * Every name this app relies on to read a bundle: manifest.json keys and graph tensor names.
 *
 * This file holds names only, never numbers: resolutions, sigmas, the sampler kind, the
 * garment-features mode, adapter_size, latent_concat, categories, graph files and tensor
 * shapes are all read from manifest.json at run time.
 *
 * tests/test_android_export.py parses this file (every `const val NAME = "value"` inside an
 * `object`) and checks each value against a real exported Android manifest:
 *   - ManifestKeys/PreprocessKeys/SamplerKeys/GraphKeys/TensorKeys/FileKeys/AndroidKeys/
 *     AndroidSourceKeys/OrtFormatKeys: the key exists at that place in the manifest;
 *   - GraphNames: each is a graph of every resolution;
 *   - <Graph>IO objects: IN_* is an input and OUT_* an output of that graph, *_PREFIX
 *     prefixes at least one, and together they cover every input the graph has;
 *   - BundleFormat: equals engine/bundle.py's FORMAT / FORMAT_VERSION;
 *   - SamplerKinds/GarmentFeatureModes: the manifest's value is one of them.
 * It also fails if any other Kotlin file reads JSON with a string literal key, so a key can
 * only enter the app through this file.
 */

object BundleFormat {
    const val FORMAT = "mobile-vton-bundle"
    const val FORMAT_VERSION = 1  // the newest manifest format this app understands
    const val TARGET_ANDROID = "android"
    const val MANIFEST_FILE = "manifest.json"
}

object ManifestKeys {
    const val FORMAT = "format"
    const val FORMAT_VERSION = "format_version"
    const val NAME = "name"
    const val TRAINED = "trained"
    const val TARGET = "target"
    const val RESOLUTIONS = "resolutions"
    const val SAMPLER = "sampler"
    const val GARMENT_FEATURES = "garment_features"
    const val PREPROCESS = "preprocess"
    const val CATEGORIES = "categories"
    const val GRAPHS = "graphs"
    const val FILES = "files"
    const val LICENSE = "license"
    const val ANDROID = "android"
}

object PreprocessKeys {
    const val ADAPTER_SIZE = "adapter_size"
    const val LATENT_CONCAT = "latent_concat"
    const val LATENT_CHANNELS = "latent_channels"
    const val VAE_FACTOR = "vae_factor"
    const val PIXEL_RANGE = "pixel_range"
}

object SamplerKeys {
    const val KIND = "kind"
    const val SIGMAS = "sigmas"
}

/** Keys of one graph entry, graphs["HxW"]["tryon_net"]. */
object GraphKeys {
    const val FILE = "file"
    const val PRECISION = "precision"
    const val INPUTS = "inputs"
    const val OUTPUTS = "outputs"
}

/** Keys of one tensor entry of a graph's inputs/outputs. */
object TensorKeys {
    const val NAME = "name"
    const val SHAPE = "shape"
    const val DTYPE = "dtype"
}

/** Keys of one files["path"] entry. */
object FileKeys {
    const val SHA256 = "sha256"
    const val BYTES = "bytes"
}

/** Keys of the "android" section written by models/export/android.py. */
object AndroidKeys {
    const val SOURCE = "source"
    const val SOURCE_GRAPHS = "source_graphs"
    const val ORT_FORMAT = "ort_format"
    const val OPTIMIZATION = "optimization"
    const val REQUIRED_OPERATORS = "required_operators"
}

object AndroidSourceKeys {
    const val NAME = "name"
    const val MANIFEST_SHA256 = "manifest_sha256"
}

object OrtFormatKeys {
    const val ONNXRUNTIME = "onnxruntime"
}

object GraphNames {
    const val VAE_ENCODER = "vae_encoder"
    const val GARMENT_NET = "garment_net"
    const val ADAPTER = "adapter"
    const val TRYON_NET = "tryon_net"
    const val VAE_DECODER = "vae_decoder"
}

object VaeEncoderIO {
    const val IN_IMAGE = "image"
    const val OUT_LATENT = "latent"
}

object VaeDecoderIO {
    const val IN_LATENT = "latent"
    const val OUT_IMAGE = "image"
}

object AdapterIO {
    const val IN_GARMENT = "garment"
    const val OUT_IMAGE_TOKENS = "image_tokens"
}

object GarmentNetIO {
    const val IN_Z_GARMENT = "z_garment"
    const val IN_SIGMA = "sigma"
    const val IN_CATEGORY = "category"
    const val OUT_FEATURE_PREFIX = "garment_feature_"
}

object TryonNetIO {
    const val IN_X = "x"
    const val IN_Z_PERSON = "z_person"
    const val IN_Z_GARMENT = "z_garment"
    const val IN_SIGMA = "sigma"
    const val IN_CATEGORY = "category"
    const val IN_IMAGE_TOKENS = "image_tokens"
    const val IN_FEATURE_PREFIX = "garment_feature_"
    const val OUT_V = "v"
}

object SamplerKinds {
    const val RENOISE = "renoise"
    const val EULER = "euler"
}

object GarmentFeatureModes {
    const val CACHED = "cached"
    const val PER_STEP = "per_step"
}
