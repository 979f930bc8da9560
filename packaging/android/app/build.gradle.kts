import groovy.json.JsonSlurper
import java.security.MessageDigest

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "org.mobilevton.studio"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.mobilevton.studio"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        // The app refuses a bundle whose .ort files were written by a newer onnxruntime.
        buildConfigField("String", "ONNXRUNTIME_VERSION", "\"${libs.versions.onnxruntime.get()}\"")
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }

    buildFeatures {
        buildConfig = true
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    kotlinOptions {
        jvmTarget = "17"
    }

    androidResources {
        // the .ort graphs are copied out of the APK once; storing them uncompressed makes that a plain copy
        noCompress += listOf("ort")
    }
}

dependencies {
    // The full ONNX Runtime package (all operators and types). For a smaller APK, build ONNX
    // Runtime with --minimal_build --include_ops_by_config required_operators.config (see README).
    implementation(libs.onnxruntime.android)
    implementation(libs.kotlinx.coroutines.android)
    implementation(libs.androidx.activity.ktx)
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.lifecycle.viewmodel.ktx)
    implementation(libs.androidx.lifecycle.runtime.ktx)
    implementation(libs.androidx.exifinterface)
    implementation(libs.androidx.annotation)

    testImplementation(libs.junit)
    testImplementation(libs.json)  // org.json on the JVM (Android's copy is a stub in unit tests)
}

// -- the model bundle ----------------------------------------------------------------------------
// An Android bundle (written by `vton bundle export ... --target android --out DIR`) is copied
// into src/main/assets/bundle/ and packaged into the APK; the app never downloads anything.
//
//   ./gradlew installVtonBundle -PvtonBundle=/path/to/DIR    (or VTON_BUNDLE=/path/to/DIR)
//   ./gradlew assembleDebug -PvtonBundle=/path/to/DIR         (copies, checks, builds)

val bundleAssets: File = layout.projectDirectory.dir("src/main/assets/bundle").asFile
val vtonBundle: Provider<String> = providers.gradleProperty("vtonBundle")
    .orElse(providers.environmentVariable("VTON_BUNDLE"))
val runtimeOrtVersion: String = libs.versions.onnxruntime.get()

val installVtonBundle by tasks.registering(Sync::class) {
    group = "mobile-vton"
    description = "Copies the Android bundle named by -PvtonBundle=DIR (or \$VTON_BUNDLE) into src/main/assets/bundle/."
    onlyIf { vtonBundle.isPresent }
    from(vtonBundle.map { file(it) })
    into(bundleAssets)
    include(
        "manifest.json", "**/*.ort", "required_operators.config", "mobile_usability.txt",
        "mobile_usability.json", "source_manifest.json",
    )
}

fun compareVersions(a: String, b: String): Int {
    val pa = a.split('.', '-').map { it.toIntOrNull() ?: 0 }
    val pb = b.split('.', '-').map { it.toIntOrNull() ?: 0 }
    for (i in 0 until maxOf(pa.size, pb.size)) {
        val d = pa.getOrElse(i) { 0 } - pb.getOrElse(i) { 0 }
        if (d != 0) return Integer.signum(d)
    }
    return 0
}

val checkVtonBundle by tasks.registering {
    group = "mobile-vton"
    description = "Checks src/main/assets/bundle: an Android manifest, every listed file with its sha256, " +
        "and .ort files written by an onnxruntime no newer than the app's."
    dependsOn(installVtonBundle)
    doLast {
        val manifestFile = File(bundleAssets, "manifest.json")
        if (!manifestFile.isFile) {
            throw GradleException(
                "No model bundle in $bundleAssets. Export one and pass it to the build:\n" +
                    "  vton bundle export --config tiny --int8 --target android --out /tmp/vton-android\n" +
                    "  ./gradlew assembleDebug -PvtonBundle=/tmp/vton-android"
            )
        }
        @Suppress("UNCHECKED_CAST")
        val manifest = JsonSlurper().parse(manifestFile) as Map<String, Any?>
        if (manifest["target"] != "android") {
            throw GradleException("$manifestFile: target is '${manifest["target"]}', not 'android' (use --target android)")
        }
        @Suppress("UNCHECKED_CAST")
        val files = manifest["files"] as Map<String, Map<String, Any?>>
        for ((rel, entry) in files) {
            val f = File(bundleAssets, rel)
            if (!f.isFile) throw GradleException("$f: listed in the manifest but missing")
            val sha = MessageDigest.getInstance("SHA-256").digest(f.readBytes()).joinToString("") { "%02x".format(it) }
            if (sha != entry["sha256"]) throw GradleException("$f: sha256 does not match the manifest")
        }
        val converter = ((manifest["android"] as? Map<*, *>)?.get("ort_format") as? Map<*, *>)?.get("onnxruntime") as? String
        if (converter != null && compareVersions(converter, runtimeOrtVersion) > 0) {
            throw GradleException(
                "the bundle's .ort files were written by onnxruntime $converter, newer than onnxruntime-android " +
                    "$runtimeOrtVersion (gradle/libs.versions.toml): raise it, or convert with onnxruntime $runtimeOrtVersion"
            )
        }
        logger.lifecycle("model bundle '${manifest["name"]}': ${files.size} files verified")
    }
}

// Every APK carries a verified bundle; unit tests do not need one.
tasks.matching { it.name.startsWith("merge") && it.name.endsWith("Assets") }.configureEach {
    dependsOn(checkVtonBundle)
}
