// Mobile-VTON Android app. Open this folder (packaging/android) in Android Studio.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()  // com.microsoft.onnxruntime:onnxruntime-android lives here
    }
}

rootProject.name = "MobileVTON"
include(":app")
