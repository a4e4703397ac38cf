// swift-tools-version:6.0
import PackageDescription

// Dependencies point one way: CLI -> TUI -> Workbench -> Techniques -> Model (-> CKernels).
// CLI is the `workbench` binary: the command line, and the TUI when run with no subcommand.
let package = Package(
    name: "AuditWorkbench",
    products: [
        .executable(name: "workbench", targets: ["CLI"]),
        .library(name: "Model", targets: ["Model"]),
        // The fuzz targets' driver: `workbench-fuzz replay` here, coverage-guided under `make fuzz`.
        .executable(name: "workbench-fuzz", targets: ["FuzzDriver"]),
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
        // Fatal signals: one clear line and the terminal given back (used by the TUI and the CLI).
        .target(name: "CSignals"),
        .target(name: "Techniques", dependencies: ["Model"]),
        // The remote engine: the black-box techniques against an OpenAI-compatible server.
        .target(name: "Serving", dependencies: ["Model"]),
        // System libraries, found through pkg-config (scripts/install-deps.sh installs them).
        .systemLibrary(name: "CNcurses", pkgConfig: "ncursesw", providers: [.apt(["libncurses-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .target(name: "Workbench", dependencies: ["Techniques", "CSQLite"]),
        .target(name: "TUI", dependencies: ["Workbench", "CNcurses", "CSignals"]),
        // `workbench mcp`: the investigator agent's tools over the Model Context Protocol.
        .target(name: "Agent", dependencies: ["Workbench"]),
        .executableTarget(
            name: "CLI",
            dependencies: [
                "TUI",
                "Agent",
                "Serving",
                "CSignals",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Fuzz targets over every reader of untrusted files (fuzz/README.md), and their driver.
        .target(name: "FuzzTargets", dependencies: ["TUI", "Workbench", "Techniques", "Model"]),
        .target(name: "CFuzzer"),
        .executableTarget(name: "FuzzDriver", dependencies: ["FuzzTargets", "CFuzzer"]),
        .target(name: "TestSupport", dependencies: ["Model"], path: "Tests/TestSupport"),
        .testTarget(name: "ModelTests", dependencies: ["Model", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TechniquesTests", dependencies: ["Techniques", "TestSupport"]),
        .testTarget(name: "ServingTests", dependencies: ["Serving", "Workbench", "TestSupport"]),
        .testTarget(name: "WorkbenchTests", dependencies: ["Workbench", "TestSupport"]),
        .testTarget(name: "TUITests", dependencies: ["TUI", "TestSupport"]),
        .testTarget(name: "FuzzTests", dependencies: ["FuzzTargets", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["Workbench", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
