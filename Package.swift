// swift-tools-version:6.0
import PackageDescription

// Dependencies point one way: TUI -> Workbench -> Techniques -> Model (-> CKernels).
let package = Package(
    name: "AuditWorkbench",
    products: [
        .executable(name: "workbench", targets: ["TUI"]),
        .library(name: "Model", targets: ["Model"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // SIMD kernels and the worker pool. Each SIMD path is compiled with a per-function
        // target attribute and chosen at run time, so the binary never faults on an older CPU.
        .target(
            name: "CKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]
        ),
        .target(name: "Model", dependencies: ["CKernels"]),
        .target(name: "Techniques", dependencies: ["Model"]),
        .target(name: "Workbench", dependencies: ["Techniques"]),
        .executableTarget(
            name: "TUI",
            dependencies: [
                "Workbench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", dependencies: ["Model"], path: "Tests/TestSupport"),
        .testTarget(name: "ModelTests", dependencies: ["Model", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TechniquesTests", dependencies: ["Techniques", "TestSupport"]),
        .testTarget(name: "TUITests", dependencies: ["Workbench", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
