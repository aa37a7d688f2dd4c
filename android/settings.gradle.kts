// The Android library of Timbang. Needs the Android SDK and NDK, Gradle with Google's Maven and
// Maven Central, and cargo-ndk: none of which this repository's CI machine has (see README.md).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "timbang-android"
include(":timbang")
