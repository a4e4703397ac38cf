import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Model
import Techniques
import TUI
import Workbench

// One function per target. Each reads what a user's file would feed the workbench, goes on as the
// workbench would with what it read, and checks what must hold of the result.

extension FuzzTargets {
    // MARK: GGUF

    /// The reader, then every value and every tensor's first and last byte (an offset past the
    /// buffer is an AddressSanitizer report; the buffer is exactly the input's size).
    static func gguf(_ raw: UnsafeRawBufferPointer) throws(FuzzFinding) {
        guard let file = try? GGUFFile(bytes: [UInt8](raw)) else { return }
        guard file.keys.count == file.metadata.count else { throw FuzzFinding("\(file.keys.count) keys but \(file.metadata.count) values") }
        var sink = 0
        for key in file.keys {
            guard let value = file.metadata[key] else { throw FuzzFinding("key without a value") }
            sink &+= "\(value)".utf8.count
            _ = value.int; _ = value.float; _ = value.string; _ = value.array
        }
        for t in file.tensors {
            guard t.fileOffset >= file.dataOffset, t.fileOffset + t.byteCount <= file.fileSize else {
                throw FuzzFinding("tensor \(FuzzFinding.quote(t.name)) at \(t.fileOffset)+\(t.byteCount) outside the file of \(file.fileSize)")
            }
            guard file.tensor(t.name) != nil else { throw FuzzFinding("tensor not found by its own name") }
            if t.byteCount > 0 {
                let p = file.data(of: t).assumingMemoryBound(to: UInt8.self)
                sink &+= Int(p[0]) &+ Int(p[t.byteCount - 1])
            }
        }
        blackHole(sink)
    }

    // MARK: Model load

    /// `LoadedModel(path:)` on the input, as `workbench --model FILE` opens it; when it loads, a chat
    /// prompt through its template (or built-in format) and two forward steps.
    static func modelLoad(_ raw: UnsafeRawBufferPointer) throws(FuzzFinding) {
        let url = scratch.appendingPathComponent("model.gguf")
        write(raw, to: url)
        guard let loaded = try? LoadedModel(path: url.path, threads: 1) else { return }
        let model = loaded.model
        guard model.vocabularySize == loaded.tokenizer.vocabularySize else { throw FuzzFinding("vocabulary sizes differ after load") }
        guard let prompt = try? loaded.chatPrompt([ChatMessage(role: "user", content: "Hi")]) else { return }
        var ids = loaded.tokenizer.encodePrompt(prompt)
        if ids.isEmpty { ids = [0] }
        ids = Array(ids.prefix(3))
        guard ids.allSatisfy({ $0 >= 0 && Int($0) < model.vocabularySize }) else { throw FuzzFinding("prompt token out of the vocabulary") }
        let context = min(8, loaded.defaultContext)
        guard context >= 4 else { return }
        let cache = model.makeCache(capacity: context)
        guard let logits = try? model.forward(ids, cache: cache) else { return }
        guard logits.count == model.vocabularySize else { throw FuzzFinding("\(logits.count) logits for \(model.vocabularySize) tokens") }
        guard let again = try? model.forward([ids[0]], cache: cache) else { return }
        blackHole(again.count)
    }

    // MARK: Tokenizers

    /// Bytes of the default model's vocabulary without a token (0xF2 among them: SmolLM2 has no "ò").
    static let bpeLostBytes = Set(bpe.bytesWithoutToken)

    /// Byte-level BPE is lossless for text whose every byte has a token: such text decodes back to
    /// itself, parsed for special tokens or not. (llama.cpp drops bytes without a token too: the
    /// first finding of this target, fuzz/crashes/tokenizer-bpe/, checked against it.)
    static func tokenizerBPE(_ raw: UnsafeRawBufferPointer) throws(FuzzFinding) {
        let text = String(decoding: raw, as: UTF8.self)
        try roundTrip(bpe, text, exact: !text.utf8.contains(where: bpeLostBytes.contains))
    }

    /// SentencePiece round-trips text except where llama.cpp does not either: text holding the
    /// space mark U+2581 (decoded as a space) or a byte token's own spelling ("<0x41>").
    static func tokenizerSPM(_ raw: UnsafeRawBufferPointer) throws(FuzzFinding) {
        let text = String(decoding: raw, as: UTF8.self)
        // Searched as scalars and bytes: as Characters, "▁" followed by a combining mark is another
        // grapheme and `contains` misses it (the target's first finding, fuzz/crashes/tokenizer-spm/).
        let spaceMark = text.unicodeScalars.contains("\u{2581}")
        let bytes = Array(text.utf8)
        let byteSpelling = bytes.indices.contains { i in i + 2 < bytes.count && bytes[i] == 0x3C && bytes[i + 1] == 0x30 && bytes[i + 2] == 0x78 }
        try roundTrip(spm, text, exact: !spaceMark && !byteSpelling)
    }

    public static func roundTrip(_ t: Tokenizer, _ text: String, exact: Bool) throws(FuzzFinding) {
        let plain = t.encode(text, parseSpecial: false, addBOS: false)
        let special = t.encode(text, parseSpecial: true, addBOS: false)
        for id in plain + special where id < 0 || Int(id) >= t.vocabularySize {
            throw FuzzFinding("token id \(id) outside the vocabulary of \(t.vocabularySize)")
        }
        if let control = plain.first(where: { t.isControl($0) }) {
            throw FuzzFinding("control token \(control) from text not parsed for special tokens")
        }
        let decodedPlain = t.decode(plain)
        let decodedSpecial = t.decode(special, renderSpecial: true)
        if exact {
            guard Array(decodedPlain.utf8) == Array(text.utf8) else {
                throw FuzzFinding("plain round trip: \(FuzzFinding.quote(text)) came back as \(FuzzFinding.quote(decodedPlain))")
            }
            guard Array(decodedSpecial.utf8) == Array(text.utf8) else {
                throw FuzzFinding("special round trip: \(FuzzFinding.quote(text)) came back as \(FuzzFinding.quote(decodedSpecial))")
            }
        }
        // Streaming decode, one token at a time, gives what decode gives.
        var stream = StreamingDecoder(tokenizer: t)
        var streamed = ""
        for id in plain { streamed += stream.append(id) }
        streamed += stream.flush()
        guard streamed == decodedPlain else {
            throw FuzzFinding("streaming decode \(FuzzFinding.quote(streamed)) differs from decode \(FuzzFinding.quote(decodedPlain))")
        }
        _ = t.encodePrompt(text)
    }

    // MARK: Chat templates

    /// The standard limits scaled down (the same checks, tripped sooner), so that one execution
    /// takes milliseconds, not the seconds a template may spend before it reaches the real limits
    /// (TemplateLimitTests checks those).
    static let fuzzLimits: ChatTemplateLimits = {
        var l = ChatTemplateLimits.standard
        l.outputBytes = 1 << 16
        l.listLength = 10_000
        l.iterations = 20_000
        l.seconds = 1
        return l
    }()

    static let conversation = [
        ChatMessage(role: "system", content: "You are a helpful assistant."),
        ChatMessage(role: "user", content: "Hello, who are you?"),
        ChatMessage(role: "assistant", content: "I am an assistant."),
        ChatMessage(role: "user", content: "What is 2+2?"),
    ]

    /// Parse, then render a four-turn conversation as the workbench does, under the limits. The
    /// output never exceeds the size limit plus the render allowance.
    static func template(_ raw: UnsafeRawBufferPointer) throws(FuzzFinding) {
        let source = String(decoding: raw, as: UTF8.self)
        guard let template = try? ChatTemplate(source: source, limits: fuzzLimits) else { return }
        for open in [true, false] {
            guard let out = try? template.render(messages: conversation, addGenerationPrompt: open,
                                                 bosToken: "<s>", eosToken: "</s>",
                                                 now: Date(timeIntervalSince1970: 1_700_000_000)) else { continue }
            var input = 6
            for m in conversation { input += m.role.utf8.count + m.content.utf8.count }
            let most = fuzzLimits.outputBytes + 2 * input
            guard out.utf8.count <= most else { throw FuzzFinding("rendered \(out.utf8.count) bytes, over the limit of \(most)") }
        }
    }

    // MARK: safetensors

    static func safetensors(_ raw: UnsafeRawBufferPointer) throws(FuzzFinding) {
        guard let file = try? SafeTensorsFile(data: Data(raw)) else { return }
        for (name, info) in file.tensors {
            guard info.end - info.begin == info.count * info.dtype.size else {
                throw FuzzFinding("tensor \(FuzzFinding.quote(name)): \(info.end - info.begin) bytes for \(info.count) values")
            }
            guard let values = try? file.floats(name) else { throw FuzzFinding("a listed tensor does not read") }
            guard values.count == info.count else { throw FuzzFinding("read \(values.count) values of \(info.count)") }
        }
    }

    // MARK: SAE cfg.json

    static let saeDIn = 8, saeDSAE = 16

    /// A directory with fixed SAELens weights (d_in 8, d_sae 16, every tensor an SAE may read).
    static let saeDirectory: URL = {
        let dir = scratch.appendingPathComponent("sae")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let d = saeDIn, s = saeDSAE
        let bytes = safetensorsImage([
            ("W_enc", [d, s]), ("b_enc", [s]), ("W_dec", [s, d]), ("b_dec", [d]), ("threshold", [s]),
        ])
        try? Data(bytes).write(to: dir.appendingPathComponent(SparseAutoencoder.weightsFile))
        return dir
    }()

    static func saeConfig(_ raw: UnsafeRawBufferPointer) throws(FuzzFinding) {
        write(raw, to: saeDirectory.appendingPathComponent(SparseAutoencoder.configFile))
        guard let sae = try? SparseAutoencoder.load(directory: saeDirectory.path) else { return }
        guard sae.dIn == saeDIn, sae.dSAE == saeDSAE else { throw FuzzFinding("loaded d_in \(sae.dIn) d_sae \(sae.dSAE) over weights of \(saeDIn)x\(saeDSAE)") }
        let x = (0..<saeDIn).map { Float($0) / 4 - 1 }
        let f = sae.encode(x)
        guard f.count == saeDSAE else { throw FuzzFinding("encode gave \(f.count) features") }
        guard sae.decode(f).count == saeDIn else { throw FuzzFinding("decode gave the wrong width") }
        _ = sae.decoderDirection(saeDSAE - 1)
    }

    // MARK: PEFT adapter_config.json

    /// LoRA weights (rank 4) for every projection of the micro model's one layer, in PEFT's names.
    static let peftDirectory: URL = {
        let dir = scratch.appendingPathComponent("peft")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let dim = 32, ff = 64, kv = 16, r = 4
        let shapes: [(String, Int, Int)] = [
            ("self_attn.q_proj", dim, dim), ("self_attn.k_proj", kv, dim), ("self_attn.v_proj", kv, dim),
            ("self_attn.o_proj", dim, dim), ("mlp.gate_proj", ff, dim), ("mlp.up_proj", ff, dim), ("mlp.down_proj", dim, ff),
        ]
        var tensors: [(String, [Int])] = []
        for (module, out, inp) in shapes {
            let base = "base_model.model.model.layers.0.\(module)"
            tensors.append(("\(base).lora_A.weight", [r, inp]))
            tensors.append(("\(base).lora_B.weight", [out, r]))
        }
        try? Data(safetensorsImage(tensors)).write(to: dir.appendingPathComponent(LoRAAdapter.weightsFile))
        return dir
    }()

    static func peftConfig(_ raw: UnsafeRawBufferPointer) throws(FuzzFinding) {
        write(raw, to: peftDirectory.appendingPathComponent(LoRAAdapter.configFile))
        guard let adapter = try? LoRAAdapter(directory: peftDirectory.path) else { return }
        guard adapter.rank > 0 else { throw FuzzFinding("adapter of rank \(adapter.rank) accepted") }
        let model = microModel.model
        guard (try? model.setAdapter(adapter)) != nil else { return }
        defer { try? model.setAdapter(nil) }
        let cache = model.makeCache(capacity: 4)
        guard let logits = try? model.forward([1, 2], cache: cache) else { throw FuzzFinding("an accepted adapter fails the forward pass") }
        guard logits.count == model.vocabularySize else { throw FuzzFinding("logits of the wrong size with an adapter") }
    }

    // MARK: Themes

    static func theme(_ raw: UnsafeRawBufferPointer) throws(FuzzFinding) {
        guard let theme = try? Theme(name: "fuzz", source: String(decoding: raw, as: UTF8.self), file: "fuzz.theme") else { return }
        for role in Role.allCases {
            for depth in [ColorDepth.none, .eight, .sixteen, .full256] { _ = theme.look(role, depth: depth) }
        }
    }

    // MARK: Sessions

    /// The file opened as `workbench notebook show/export` opens it (create: false), then everything
    /// read and exported. A file it refuses must come out of the attempt unchanged.
    static func session(_ raw: UnsafeRawBufferPointer) throws(FuzzFinding) {
        let url = scratch.appendingPathComponent("session.sqlite")
        for suffix in ["-wal", "-shm", "-journal"] { unlink(url.path + suffix) }
        write(raw, to: url)
        let notebook: Notebook
        do {
            notebook = try Notebook(path: url.path, busyTimeout: 0.1, create: false)
        } catch {
            let after = (try? Data(contentsOf: url)) ?? Data()
            guard after.elementsEqual(raw) else { throw FuzzFinding("a refused session file was changed: \(FuzzFinding.quote("\(error)"))") }
            return
        }
        _ = try? notebook.snapshot()
        _ = try? notebook.exportJSON()
        _ = try? notebook.exportMarkdown()
        _ = try? notebook.integrityCheck()
        notebook.close()
    }

    // MARK: Corpus

    static let corpusDirectory: URL = {
        let dir = scratch.appendingPathComponent("corpus")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// The input as a shard of a corpus directory: indexed as `workbench data index` does, the index
    /// written and read back, then searched and each hit's document read from the shard.
    static func corpus(_ raw: UnsafeRawBufferPointer) throws(FuzzFinding) {
        let dir = corpusDirectory
        unlink(dir.appendingPathComponent(DataSearchIndex.fileName).path)
        write(raw, to: dir.appendingPathComponent("shard.jsonl"))
        guard let built = try? DataSearchIndex.build(corpus: dir) else { return }
        let indexURL = dir.appendingPathComponent(DataSearchIndex.fileName)
        guard (try? built.write(to: indexURL)) != nil else { throw FuzzFinding("cannot write the index") }
        let index: DataSearchIndex
        do { index = try DataSearchIndex.load(from: indexURL, corpus: dir) } catch {
            throw FuzzFinding("an index just written does not load: \(FuzzFinding.quote("\(error)"))")
        }
        guard index.documentCount == built.documentCount else { throw FuzzFinding("document count changed across write and load") }
        guard index.freshness() == .fresh else { throw FuzzFinding("a fresh index reads as stale") }
        for query in ["reward model", "\"the model\"", "a -b", "x*"] {
            guard let results = try? index.search(query) else { continue }
            for hit in results.hits {
                guard (try? index.document(id: hit.id)) != nil else { throw FuzzFinding("hit \(FuzzFinding.quote(hit.id)) has no document") }
            }
        }
    }

    // MARK: Helpers

    /// A safetensors image of F32 tensors with small deterministic values.
    static func safetensorsImage(_ tensors: [(String, [Int])]) -> [UInt8] {
        var header = "{"
        var data: [UInt8] = []
        for (i, (name, shape)) in tensors.enumerated() {
            let n = shape.reduce(1, *)
            let begin = data.count
            for j in 0..<n {
                let v = Float((j * 7 + i * 3) % 17) / 17 - 0.5
                withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) }
            }
            if i > 0 { header += "," }
            header += "\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(begin),\(data.count)]}"
        }
        header += "}"
        var out: [UInt8] = []
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out += Array(header.utf8) + data
        return out
    }
}

/// Keeps a computed value from being optimised away.
@inline(never) func blackHole(_ x: Int) { if x == -0x5EED_F00D { print("") } }
