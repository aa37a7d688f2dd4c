// swift-tools-version:5.9
// Timbang for iOS: the generated bindings (`Timbang`, from bindings/ffi), the static core in an
// xcframework (`TimbangFFI`), and the app-facing wrapper (`TimbangKit`). Run ./build-xcframework.sh
// first: it builds the core for the device and the simulators and generates Sources/Timbang.
import PackageDescription

let package = Package(
    name: "Timbang",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "TimbangKit", targets: ["TimbangKit"]),
    ],
    targets: [
        .binaryTarget(name: "TimbangFFI", path: "build/TimbangFFI.xcframework"),
        .target(name: "Timbang", dependencies: ["TimbangFFI"], path: "Sources/Timbang"),
        .target(name: "TimbangKit", dependencies: ["Timbang"], path: "Sources/TimbangKit"),
    ]
)
