import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Model
import Techniques
import TUI
import Workbench

// The fuzz targets: each takes one input's bytes, feeds it to a reader of untrusted files the way
// the workbench does, and returns a finding when an invariant fails (a round trip that does not
// round-trip, say). Errors thrown by a reader are the expected outcome for bad input; a crash, a
// trap or a hang is the bug. The same functions run under libFuzzer (`make fuzz`, the
// `workbench-fuzz` driver built with -sanitize=fuzzer,address) and in the test suite, which
// replays every seed and every saved crash (Tests/FuzzTests).

/// What a target found wrong with an input that did not crash.
public struct FuzzFinding: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }

    /// Fuzzed text as a finding quotes it: in quotes, every scalar outside printable ASCII written
    /// as \u{X} (so the exact text is recoverable and no control, C1 or bidi character reaches a
    /// terminal), cut after 300 scalars.
    public static func quote(_ text: String) -> String {
        var out = "\""
        for (i, scalar) in text.unicodeScalars.enumerated() {
            if i == 300 { out += "…(\(text.unicodeScalars.count) scalars)"; break }
            switch scalar.value {
            case 0x22: out += "\\\""
            case 0x5C: out += "\\\\"
            case 0x20...0x7E: out.append(Character(scalar))
            default: out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
        }
        return out + "\""
    }
}

public struct FuzzTarget: Sendable {
    public var name: String
    /// What the target reads, for `workbench-fuzz --list` and docs/fuzzing.md.
    public var summary: String
    /// Inputs longer than this are cut (libFuzzer's -max_len for the target).
    public var maxLength: Int
    public var run: @Sendable (UnsafeRawBufferPointer) throws(FuzzFinding) -> Void

    public func callAsFunction(_ bytes: [UInt8]) throws(FuzzFinding) {
        let cut = bytes.count > maxLength ? Array(bytes.prefix(maxLength)) : bytes
        // withUnsafeBytes cannot rethrow a typed error; carry it out by hand.
        var finding: FuzzFinding?
        cut.withUnsafeBytes { raw in
            do { try run(raw) } catch { finding = error as? FuzzFinding }
        }
        if let finding { throw finding }
    }
}

public enum FuzzTargets {
    public static let all: [FuzzTarget] = [
        FuzzTarget(name: "gguf", summary: "the GGUF reader: header, metadata, tensor table, every value read back",
                   maxLength: 1 << 18, run: { raw throws(FuzzFinding) in try gguf(raw) }),
        FuzzTarget(name: "model", summary: "model load from a GGUF: tokenizer, architecture, chat template, two forward steps",
                   maxLength: 1 << 16, run: { raw throws(FuzzFinding) in try modelLoad(raw) }),
        FuzzTarget(name: "tokenizer-bpe", summary: "byte-level BPE (the default model): encode/decode round trip, streaming decode",
                   maxLength: 1024, run: { raw throws(FuzzFinding) in try tokenizerBPE(raw) }),
        FuzzTarget(name: "tokenizer-spm", summary: "SentencePiece (Gemma 3): encode/decode round trip, streaming decode",
                   maxLength: 1024, run: { raw throws(FuzzFinding) in try tokenizerSPM(raw) }),
        FuzzTarget(name: "template", summary: "chat-template parser and renderer under the standard limits",
                   maxLength: 1 << 14, run: { raw throws(FuzzFinding) in try template(raw) }),
        FuzzTarget(name: "safetensors", summary: "the safetensors reader: header, offsets, dtypes, every tensor read",
                   maxLength: 1 << 16, run: { raw throws(FuzzFinding) in try safetensors(raw) }),
        FuzzTarget(name: "sae-config", summary: "an SAELens cfg.json over fixed weights (d_in 8, d_sae 16)",
                   maxLength: 1 << 14, run: { raw throws(FuzzFinding) in try saeConfig(raw) }),
        FuzzTarget(name: "peft-config", summary: "a PEFT adapter_config.json over fixed LoRA weights, attached to the micro model",
                   maxLength: 1 << 14, run: { raw throws(FuzzFinding) in try peftConfig(raw) }),
        FuzzTarget(name: "theme", summary: "the theme parser, every role looked up at every colour depth",
                   maxLength: 1 << 14, run: { raw throws(FuzzFinding) in try theme(raw) }),
        FuzzTarget(name: "session", summary: "a session file (SQLite) opened read-only: entries, artifacts, report, exports",
                   maxLength: 1 << 17, run: { raw throws(FuzzFinding) in try session(raw) }),
        FuzzTarget(name: "corpus", summary: "a corpus shard (JSON Lines) read, indexed and searched",
                   maxLength: 1 << 13, run: { raw throws(FuzzFinding) in try corpus(raw) }),
    ]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    /// The repository root, found from this file (tests, a build in the tree) or the working directory.
    public static var root: URL {
        let env = ProcessInfo.processInfo.environment
        if let r = env["WORKBENCH_ROOT"], !r.isEmpty { return URL(fileURLWithPath: r) }
        let fromSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        if FileManager.default.fileExists(atPath: fromSource.appendingPathComponent("fuzz/seeds").path) { return fromSource }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }

    /// Where a target's seed inputs and saved crashes live.
    public static func seedDirectory(_ target: String) -> URL { root.appendingPathComponent("fuzz/seeds/\(target)") }
    public static func crashDirectory(_ target: String) -> URL { root.appendingPathComponent("fuzz/crashes/\(target)") }

    // MARK: - Shared state, made once per process

    /// A private directory for the readers that take paths (removed at exit).
    static let scratch: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = URL(fileURLWithPath: base).appendingPathComponent("workbench-fuzz-\(getpid())")
        try? FileManager.default.removeItem(at: dir)
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        scratchToRemove = dir.path
        atexit { if let p = FuzzTargets.scratchToRemove { try? FileManager.default.removeItem(atPath: p) } }
        return dir
    }()
    nonisolated(unsafe) static var scratchToRemove: String?

    static func write(_ raw: UnsafeRawBufferPointer, to url: URL) {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        precondition(fd >= 0, "fuzz scratch: cannot write \(url.path)")
        var done = 0
        while done < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
            precondition(n > 0, "fuzz scratch: short write")
            done += n
        }
        close(fd)
    }

    static func loadTokenizer(_ relative: String) -> Tokenizer {
        let path = root.appendingPathComponent(relative).path
        do {
            return try Tokenizer(gguf: GGUFFile(path: path))
        } catch {
            fatalError("fuzz: the tokenizer target needs \(path) (run `make models`): \(error)")
        }
    }

    public static let bpe = loadTokenizer("models/SmolLM2-135M-Instruct.Q4_1.gguf")
    public static let spm = loadTokenizer("models/gemma-3-270m-q4_k_m.gguf")

    /// The micro model (fuzz/seeds/model/llama-micro.gguf, made by fuzz/make_seeds.py) the PEFT
    /// target attaches adapters to.
    static let microModel: LoadedModel = {
        let path = seedDirectory("model").appendingPathComponent("llama-micro.gguf").path
        do { return try LoadedModel(path: path, threads: 1) } catch {
            fatalError("fuzz: the peft-config target needs \(path) (fuzz/make_seeds.py): \(error)")
        }
    }()
}
