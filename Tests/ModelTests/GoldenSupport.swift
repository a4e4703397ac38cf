import Foundation
import Model
import XCTest

/// llama.cpp's reference outputs for the default model (Fixtures/, copied from shared/golden).
struct Golden: Decodable {
    struct TokenizeCase: Decodable { let text: String; let ids: [Int32] }
    struct GenerateCase: Decodable {
        let kind: String
        let prompt: String
        let input_text: String
        let input_ids: [Int32]
        let top10_first: [Int32]
        let first_logits_top10: [Float]
        let greedy_ids: [Int32]
        let greedy_text: String
    }
    let model_sha256: String
    let tokenize: [TokenizeCase]
    let generate: [GenerateCase]

    static func load() throws -> Golden {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/smollm2-135m-instruct-q4_1", withExtension: "json"),
                                "fixture missing")
        return try JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }
}

/// The default model, fetched by `make models` into models/ at the package root.
enum DefaultModel {
    static var path: String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("models/SmolLM2-135M-Instruct.Q4_1.gguf").path
    }

    /// The mapped file, or a test failure that says how to get it.
    static func file() throws -> GGUFFile {
        guard FileManager.default.fileExists(atPath: path) else {
            XCTFail("default model missing at \(path): run `make models`")
            throw XCTSkip("no model")
        }
        return try GGUFFile(path: path)
    }
}

/// The built `workbench` executable, run as a user would.
enum Binary {
    static func path() throws -> String {
        let fm = FileManager.default
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("workbench").path
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for candidate in [beside, root.appendingPathComponent(".build/release/workbench").path] where fm.isExecutableFile(atPath: candidate) {
            return candidate
        }
        XCTFail("workbench binary not built: run `swift build -c release` (make test does)")
        throw XCTSkip("no binary")
    }

    struct Result { let status: Int32; let stdout: String; let stderr: String }

    static func run(_ path: String, _ args: [String], env: [String: String] = [:], stdin: String? = nil) throws -> Result {
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
