import CKernels
import Foundation

/// A sentence-transformers model folder run in-process: `modules.json` (Transformer, Pooling and an
/// optional Normalize), `config.json` + `model.safetensors` (a BERT encoder), `tokenizer.json`
/// (WordPiece), `1_Pooling/config.json` (mean, CLS or max pooling) and `sentence_bert_config.json`
/// (max_seq_length). all-MiniLM-L6-v2 is the default (`make embedder` fetches it); any BERT-family
/// embedder of this layout loads the same way. Anything else the folder asks for is refused by name.
public final class SentenceEmbedder: @unchecked Sendable {
    public enum Pooling: String, Sendable { case mean, cls, max }

    public let folder: URL
    public let tokenizer: WordPieceTokenizer
    public let encoder: BertEncoder
    public let pooling: Pooling
    public let normalize: Bool
    /// The most ids one sequence holds, [CLS] and [SEP] included (texts are cut to fit).
    public let maxSequenceLength: Int
    /// The most word pieces one sequence holds besides [CLS] and [SEP].
    public var maxPieces: Int { maxSequenceLength - 2 }
    public var dimension: Int { encoder.config.hidden }
    /// The folder's name, for messages and index headers.
    public var name: String { folder.lastPathComponent }

    public init(folder: URL, threads: Int = ProcessInfo.processInfo.activeProcessorCount) throws {
        self.folder = folder
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder.path, isDirectory: &isDir), isDir.boolValue else {
            throw EmbedderError("no embedding model folder at \(folder.path) (`make embedder` fetches all-MiniLM-L6-v2 there)")
        }
        func file(_ name: String) -> URL { folder.appendingPathComponent(name) }
        /// An optional JSON file of the folder: nil when absent.
        func json(_ name: String) throws -> Any? {
            let url = file(name)
            guard fm.fileExists(atPath: url.path) else { return nil }
            guard let data = try? Data(contentsOf: url), data.count <= 1 << 20,
                  let value = try? JSONSerialization.jsonObject(with: data) else {
                throw EmbedderError("\(url.path) is not JSON of at most 1 MiB")
            }
            return value
        }

        // Modules: Transformer, then Pooling, then Normalize (optional); nothing else.
        var poolingPath = "1_Pooling"
        var normalize = false
        if let modules = try json("modules.json") {
            guard let list = modules as? [[String: Any]] else { throw EmbedderError("modules.json is not a list of objects") }
            let types = list.map { ($0["type"] as? String ?? "?").split(separator: ".").last.map(String.init) ?? "?" }
            guard types.first == "Transformer", types.count >= 2, types[1] == "Pooling",
                  types.count == 2 || (types.count == 3 && types[2] == "Normalize") else {
                throw EmbedderError("modules.json lists \(types.map { UntrustedText.excerpt($0) }.joined(separator: ", ")); only Transformer, Pooling and an optional Normalize are supported")
            }
            if let path = list[1]["path"] as? String, !path.isEmpty, !path.contains("/"), !path.hasPrefix(".") { poolingPath = path }
            normalize = types.count == 3
        }
        self.normalize = normalize

        var pooling = Pooling.mean
        if let cfg = try json(poolingPath + "/config.json") {
            guard let o = cfg as? [String: Any] else { throw EmbedderError("\(poolingPath)/config.json is not an object") }
            let modes = o.filter { $0.key.hasPrefix("pooling_mode_") && ($0.value as? Bool) == true && isJSONBool($0.value) }.map(\.key).sorted()
            switch modes {
            case ["pooling_mode_mean_tokens"]: pooling = .mean
            case ["pooling_mode_cls_token"]: pooling = .cls
            case ["pooling_mode_max_tokens"]: pooling = .max
            default:
                throw EmbedderError("\(poolingPath)/config.json asks for \(modes.isEmpty ? "no pooling" : modes.joined(separator: " + ")); exactly one of mean, cls or max is supported")
            }
        }
        self.pooling = pooling

        guard let configData = try? Data(contentsOf: file("config.json")), configData.count <= 1 << 20 else {
            throw EmbedderError("\(folder.path) has no readable config.json")
        }
        let config: BertConfig
        do { config = try BertConfig(json: configData) } catch let e as EmbedderError {
            throw EmbedderError("\(file("config.json").path): \(e.message)")
        }
        tokenizer = try WordPieceTokenizer(contentsOf: file("tokenizer.json"))
        guard tokenizer.vocabulary.count <= config.vocabulary else {
            throw EmbedderError("tokenizer.json has \(tokenizer.vocabulary.count) tokens but config.json vocab_size is \(config.vocabulary)")
        }
        var maxLength = config.maxPositions
        if let st = try json("sentence_bert_config.json") as? [String: Any], let n = st["max_seq_length"] {
            guard !isJSONBool(n), let m = n as? Int, m >= 3 else { throw EmbedderError("sentence_bert_config.json max_seq_length must be an integer >= 3") }
            maxLength = min(m, config.maxPositions)
        }
        maxSequenceLength = maxLength

        let weights: SafeTensorsFile
        do { weights = try SafeTensorsFile(path: file("model.safetensors").path) } catch {
            throw EmbedderError("\(file("model.safetensors").path): \(error)")
        }
        encoder = try BertEncoder(config: config, weights: weights, threads: threads)
    }

    /// The embedding of `text` (cut to maxSequenceLength ids, as sentence-transformers cuts it).
    public func embed(_ text: String) -> [Float] {
        embed(pieceIDs: tokenizer.pieces(text, limit: maxPieces).map(\.id))
    }

    /// The embedding of word pieces (without [CLS]/[SEP]; cut to fit).
    public func embed(pieceIDs: [Int32]) -> [Float] {
        let ids = sequence(pieceIDs)
        return pool(encoder.hiddenStates(ids), tokens: ids.count)
    }

    /// Embeddings of several piece lists, one per thread at a time (index building).
    public func embed(batch: [[Int32]]) -> [[Float]] {
        let sequences = batch.map(sequence)
        return zip(encoder.hiddenStates(batch: sequences), sequences).map { pool($0, tokens: $1.count) }
    }

    func sequence(_ pieceIDs: [Int32]) -> [Int32] {
        [tokenizer.clsID] + pieceIDs.prefix(maxPieces) + [tokenizer.sepID]
    }

    /// Pooling (and normalisation) of hidden states [t][d].
    func pool(_ states: [Float], tokens t: Int) -> [Float] {
        let d = dimension
        var out = [Float](repeating: 0, count: d)
        switch pooling {
        case .cls:
            out = Array(states[0..<d])
        case .mean:
            for p in 0..<t { for j in 0..<d { out[j] += states[p * d + j] } }
            for j in 0..<d { out[j] /= Float(t) }
        case .max:
            out = Array(states[0..<d])
            for p in 1..<t { for j in 0..<d { out[j] = Swift.max(out[j], states[p * d + j]) } }
        }
        if normalize { Self.normalizeInPlace(&out) }
        return out
    }

    /// x / max(|x|, 1e-12), as torch.nn.functional.normalize.
    public static func normalizeInPlace(_ x: inout [Float]) {
        var sum: Float = 0
        for v in x { sum += v * v }
        let n = Swift.max(sum.squareRoot(), 1e-12)
        for i in x.indices { x[i] /= n }
    }
}
