import Foundation
import Model
import XCTest

// Shared by the test targets: where the default model and the built binary are.

/// The default model, fetched by `make models` into models/ at the package root.
public enum DefaultModel {
    public static var path: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    }

    nonisolated(unsafe) private static var shared: LoadedModel?

    /// The default model loaded once per test process (2 threads), shared by the tests that run it.
    public static func loaded() throws -> LoadedModel {
        if let shared { return shared }
        _ = try file()
        let m = try LoadedModel(path: path, threads: 2)
        shared = m
        return m
    }

    /// The mapped file, or a test failure that says how to get it.
    public static func file() throws -> GGUFFile {
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("default model missing at \(path): run `make models`")
            throw XCTSkip("no model")
        }
        return try GGUFFile(path: path)
    }
}

/// The built `workbench` executable, run as a user would.
public enum Binary {
    public static func path() throws -> String {
        let fm = FileManager.default
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("workbench").path
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for candidate in [beside, root.appendingPathComponent(".build/release/workbench").path] where fm.isExecutableFile(atPath: candidate) {
            return candidate
        }
        XCTFail("workbench binary not built: run `swift build -c release` (make test does)")
        throw XCTSkip("no binary")
    }

    public struct Result { public let status: Int32; public let stdout: String; public let stderr: String }

    public static func run(_ path: String, _ args: [String], env: [String: String] = [:], stdin: String? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try? input.fileHandleForWriting.close()
        // Read both pipes fully before waiting, so a large output cannot block the child.
        final class Box: @unchecked Sendable { var data = Data() }
        let outBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { outBox.data = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let outData = outBox.data
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: String(decoding: errData, as: UTF8.self))
    }
}
