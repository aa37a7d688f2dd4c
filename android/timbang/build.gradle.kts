// org.timbang.android: the idiomatic wrapper (TimbangClient), the generated bindings, libtimbang_ffi.so
// for each ABI (cargo-ndk), WorkManager sync, Keystore key, Bluetooth transport.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

val repo = rootDir.parentFile
val generated = layout.buildDirectory.dir("generated/uniffi")
val jniLibs = layout.buildDirectory.dir("rustJniLibs")

android {
    namespace = "org.timbang.android"
    compileSdk = 35
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].java.srcDir(generated.map { it.dir("kotlin") })
    sourceSets["main"].jniLibs.srcDir(jniLibs)
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
}

dependencies {
    // uniffi's Kotlin loads the library through JNA; the aar carries its Android native part.
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.1")
    implementation("androidx.work:work-runtime-ktx:2.10.0")
    implementation("androidx.annotation:annotation:1.9.1")
    testImplementation("junit:junit:4.13.2")
    testImplementation("org.jetbrains.kotlin:kotlin-test-junit:2.1.0")
}

// The core for every ABI the app ships, release profile, into build/rustJniLibs/<abi>/.
val cargoNdk by tasks.registering(Exec::class) {
    workingDir = repo
    commandLine(
        "cargo", "ndk",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "-o", jniLibs.get().asFile.path,
        "build", "--release", "-p", "timbang-ffi",
    )
}

// The Kotlin bindings, generated from the host build of the same sources (the API does not depend on
// the target).
val uniffiBindings by tasks.registering(Exec::class) {
    workingDir = repo
    commandLine("sh", "-c", "cargo build -p timbang-ffi && bindings/ffi/generate.sh target/debug/libtimbang_ffi.so ${generated.get().asFile.path}")
}

tasks.named("preBuild") { dependsOn(cargoNdk, uniffiBindings) }
