import Foundation

/// BERT's tokenizer as a Hugging Face `tokenizer.json` describes it: the BertNormalizer, the
/// BertPreTokenizer, a WordPiece model and the [CLS] A [SEP] template. Only that pipeline is read;
/// any other normaliser, pre-tokenizer, model or post-processor is refused by name.
///
/// Normalisation, per Unicode scalar and in this order (as the `tokenizers` library does it):
///   clean_text            drop U+0000, U+FFFD and every Cc/Cf/Cs/Co scalar except \t \n \r;
///                         every White_Space scalar becomes a space
///   handle_chinese_chars  a space either side of each CJK ideograph
///   strip_accents         NFD, then drop the nonspacing marks (Mn); when null it follows lowercase
///   lowercase             the full lowercase mapping (İ -> i + U+0307)
/// Before that, the added tokens that are not normalised ([CLS], [SEP], [MASK], ... in BERT's file)
/// are matched literally, case-sensitively, anywhere in the text, as the `tokenizers` library does.
/// Pre-tokenisation splits on whitespace (dropped) and on punctuation (ASCII punctuation and the
/// Unicode P* categories, each its own word). WordPiece then takes, within each word, the longest
/// vocabulary entry from the left, the later pieces with the continuation prefix ("##"); a word
/// with a part that matches nothing, or longer than max_input_chars_per_word scalars, is [UNK].
/// Every piece carries the UTF-8 byte range of the original text it came from.
public struct WordPieceTokenizer: Sendable {
    public struct Piece: Sendable, Equatable {
        public var id: Int32
        /// UTF-8 byte offsets into the text that was encoded.
        public var range: Range<Int>
    }

    public let vocabulary: [String]
    let ids: [String: Int32]
    public let unknownID: Int32
    public let clsID: Int32
    public let sepID: Int32
    public let prefix: String
    public let maxInputCharsPerWord: Int
    let cleanText: Bool
    let handleChineseChars: Bool
    let stripAccents: Bool
    let lowercase: Bool
    /// The longest vocabulary entry, in scalars (bounds the greedy search).
    let longestEntry: Int
    /// Added tokens matched before normalisation, by first scalar, longest first.
    let addedTokens: [UInt32: [(scalars: [Unicode.Scalar], id: Int32)]]

    /// The largest tokenizer.json read, and the most vocabulary entries.
    public static let maxFileBytes = 64 << 20
    public static let maxVocabulary = 2_000_000
    public static let maxAddedTokens = 10_000

    public init(contentsOf url: URL) throws {
        let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
        if let size = attributes?[.size] as? Int, size > Self.maxFileBytes {
            throw EmbedderError("\(url.path): \(size) bytes, above the \(Self.maxFileBytes)-byte cap for a tokenizer.json")
        }
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw EmbedderError("cannot read \(url.path): \(error.localizedDescription)")
        }
        do { try self.init(json: data) } catch let e as EmbedderError {
            throw EmbedderError("\(url.path): \(e.message)")
        }
    }

    public init(json data: Data) throws {
        guard data.count <= Self.maxFileBytes else { throw EmbedderError("tokenizer.json above the \(Self.maxFileBytes)-byte cap") }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw EmbedderError("tokenizer.json is not a JSON object")
        }
        func object(_ v: Any?, _ what: String) throws -> [String: Any] {
            guard let o = v as? [String: Any] else { throw EmbedderError("\(what) is missing or not an object") }
            return o
        }
        func type(_ o: [String: Any]) -> String { (o["type"] as? String).map { UntrustedText.excerpt($0) } ?? "(none)" }
        func flag(_ o: [String: Any], _ key: String) throws -> Bool? {
            guard let v = o[key], !(v is NSNull) else { return nil }
            guard isJSONBool(v), let b = v as? Bool else { throw EmbedderError("normalizer.\(key) is not a boolean") }
            return b
        }

        // Normaliser.
        let normalizer = try object(root["normalizer"], "normalizer")
        guard type(normalizer) == "BertNormalizer" else {
            throw EmbedderError("normalizer \(type(normalizer)) is not supported (only BertNormalizer)")
        }
        cleanText = try flag(normalizer, "clean_text") ?? true
        handleChineseChars = try flag(normalizer, "handle_chinese_chars") ?? true
        lowercase = try flag(normalizer, "lowercase") ?? true
        stripAccents = try flag(normalizer, "strip_accents") ?? lowercase

        let pre = try object(root["pre_tokenizer"], "pre_tokenizer")
        guard type(pre) == "BertPreTokenizer" else {
            throw EmbedderError("pre_tokenizer \(type(pre)) is not supported (only BertPreTokenizer)")
        }

        // WordPiece model.
        let model = try object(root["model"], "model")
        guard type(model) == "WordPiece" else { throw EmbedderError("model \(type(model)) is not supported (only WordPiece)") }
        guard let vocab = model["vocab"] as? [String: Any] else { throw EmbedderError("model.vocab is missing or not an object") }
        guard !vocab.isEmpty, vocab.count <= Self.maxVocabulary else {
            throw EmbedderError("model.vocab has \(vocab.count) entries (1...\(Self.maxVocabulary))")
        }
        var table = [String?](repeating: nil, count: vocab.count)
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(vocab.count)
        var longest = 1
        for (token, value) in vocab {
            guard !isJSONBool(value), let n = value as? Int, n >= 0, n < vocab.count else {
                throw EmbedderError("model.vocab entry \(UntrustedText.excerpt(token)) has id \(UntrustedText.excerpt(describing: value)), not 0..<\(vocab.count)")
            }
            guard table[n] == nil else { throw EmbedderError("model.vocab gives id \(n) twice") }
            table[n] = token
            ids[token] = Int32(n)
            longest = max(longest, token.unicodeScalars.count)
        }
        vocabulary = table.map { $0! }   // vocab.count distinct ids in 0..<count: every slot is filled
        self.ids = ids
        longestEntry = longest
        prefix = model["continuing_subword_prefix"] as? String ?? "##"
        guard !prefix.isEmpty, prefix.unicodeScalars.count <= 8 else { throw EmbedderError("model.continuing_subword_prefix must be 1-8 characters") }
        let maxChars = model["max_input_chars_per_word"] as? Int ?? 100
        guard maxChars >= 1 && maxChars <= 10_000 else { throw EmbedderError("model.max_input_chars_per_word \(maxChars) is not 1...10000") }
        maxInputCharsPerWord = maxChars
        let unk = model["unk_token"] as? String ?? "[UNK]"
        guard let unkID = ids[unk] else { throw EmbedderError("the unknown token \(UntrustedText.excerpt(unk)) is not in the vocabulary") }
        unknownID = unkID

        // Added tokens that bypass normalisation.
        var added: [UInt32: [(scalars: [Unicode.Scalar], id: Int32)]] = [:]
        if let list = root["added_tokens"] as? [Any] {
            guard list.count <= Self.maxAddedTokens else { throw EmbedderError("added_tokens has \(list.count) entries, above \(Self.maxAddedTokens)") }
            for case let entry as [String: Any] in list {
                guard let content = entry["content"] as? String, !content.isEmpty, let id = entry["id"] as? Int,
                      id >= 0, id < vocab.count else {
                    throw EmbedderError("added_tokens has an entry without content and an id in the vocabulary")
                }
                if (entry["normalized"] as? Bool) == true { continue }   // matched by WordPiece like any text
                let scalars = Array(content.unicodeScalars)
                added[scalars[0].value, default: []].append((scalars, Int32(id)))
            }
            for key in added.keys { added[key]!.sort { $0.scalars.count > $1.scalars.count } }
        }
        addedTokens = added

        // Post-processor: [CLS] $A [SEP].
        let post = try object(root["post_processor"], "post_processor")
        var cls = "[CLS]", sep = "[SEP]"
        switch type(post) {
        case "TemplateProcessing":
            guard let single = post["single"] as? [Any], single.count == 3,
                  let first = ((single[0] as? [String: Any])?["SpecialToken"] as? [String: Any])?["id"] as? String,
                  ((single[1] as? [String: Any])?["Sequence"] as? [String: Any])?["id"] as? String == "A",
                  let last = ((single[2] as? [String: Any])?["SpecialToken"] as? [String: Any])?["id"] as? String else {
                throw EmbedderError("post_processor.single is not the template [special] $A [special]")
            }
            cls = first
            sep = last
        case "BertProcessing":
            guard let c = (post["cls"] as? [Any])?.first as? String, let s = (post["sep"] as? [Any])?.first as? String else {
                throw EmbedderError("post_processor BertProcessing needs cls and sep")
            }
            cls = c
            sep = s
        default:
            throw EmbedderError("post_processor \(type(post)) is not supported (TemplateProcessing or BertProcessing)")
        }
        guard let c = ids[cls], let s = ids[sep] else {
            throw EmbedderError("the special tokens \(UntrustedText.excerpt(cls)) and \(UntrustedText.excerpt(sep)) are not both in the vocabulary")
        }
        clsID = c
        sepID = s
    }

    /// The word pieces of `text` (no [CLS]/[SEP]), at most `limit` of them.
    public func pieces(_ text: String, limit: Int = .max) -> [Piece] {
        var out: [Piece] = []
        var word: [Unicode.Scalar] = []
        var starts: [Int] = []   // per scalar of `word`: the original UTF-8 range
        var ends: [Int] = []
        var cache: [UInt32: [Unicode.Scalar]] = [:]
        var offset = 0

        func flush() {
            guard !word.isEmpty else { return }
            if out.count < limit { wordPieces(word, starts, ends, into: &out, limit: limit) }
            word.removeAll(keepingCapacity: true)
            starts.removeAll(keepingCapacity: true)
            ends.removeAll(keepingCapacity: true)
        }
        let scalars = Array(text.unicodeScalars)
        var i = 0
        scan: while i < scalars.count {
            if out.count >= limit { break }
            let scalar = scalars[i]
            let v = scalar.value
            if let candidates = addedTokens[v] {
                for (token, id) in candidates where i + token.count <= scalars.count && scalars[i..<i + token.count].elementsEqual(token) {
                    flush()
                    var end = offset
                    for s in token { end += UTF8.width(s) }
                    out.append(Piece(id: id, range: offset..<end))
                    offset = end
                    i += token.count
                    continue scan
                }
            }
            i += 1
            let start = offset
            offset += UTF8.width(scalar)
            if v < 0x80 {
                // ASCII: controls other than \t \n \r go, whitespace splits, punctuation stands alone.
                if v == 0x09 || v == 0x0A || v == 0x0D || v == 0x20 { flush(); continue }
                if v < 0x20 || v == 0x7F { if cleanText { continue } }
                var s = scalar
                if lowercase && v >= 0x41 && v <= 0x5A { s = Unicode.Scalar(v + 0x20)! }
                if Self.isASCIIPunctuation(v) {
                    flush()
                    word = [s]; starts = [start]; ends = [offset]
                    flush()
                } else {
                    word.append(s); starts.append(start); ends.append(offset)
                }
                continue
            }
            let normalized: [Unicode.Scalar]
            if let cached = cache[v] {
                normalized = cached
            } else {
                normalized = normalize(scalar)
                cache[v] = normalized
            }
            for s in normalized {
                if s == " " { flush(); continue }
                if Self.isPunctuation(s) || (handleChineseChars && Self.isChinese(s.value)) {
                    flush()
                    word = [s]; starts = [start]; ends = [offset]
                    flush()
                } else {
                    word.append(s); starts.append(start); ends.append(offset)
                }
            }
        }
        flush()
        return out.count > limit ? Array(out.prefix(limit)) : out
    }

    /// [CLS] pieces [SEP], the pieces cut so the whole is at most `maxLength` ids.
    public func encode(_ text: String, maxLength: Int) -> [Int32] {
        let body = pieces(text, limit: max(0, maxLength - 2))
        return [clsID] + body.map(\.id) + [sepID]
    }

    /// One non-ASCII scalar through clean_text, handle_chinese_chars, strip_accents and lowercase;
    /// a space stands for whitespace (and for the spaces put around a CJK ideograph).
    func normalize(_ scalar: Unicode.Scalar) -> [Unicode.Scalar] {
        let p = scalar.properties
        if cleanText {
            if scalar.value == 0xFFFD { return [] }
            switch p.generalCategory {
            case .control, .format, .surrogate, .privateUse: return []   // not unassigned: those stay (and are [UNK])
            default: break
            }
            if p.isWhitespace { return [" "] }
        } else if p.isWhitespace {
            return [" "]
        }
        var scalars: [Unicode.Scalar] = [scalar]
        if stripAccents {
            scalars = Array(String(scalar).decomposedStringWithCanonicalMapping.unicodeScalars)
                .filter { $0.properties.generalCategory != .nonspacingMark }
        }
        if lowercase {
            scalars = scalars.flatMap { s -> [Unicode.Scalar] in
                s.properties.changesWhenLowercased ? Array(s.properties.lowercaseMapping.unicodeScalars) : [s]
            }
        }
        return scalars
    }

    /// Greedy longest-match-first WordPiece over one word.
    func wordPieces(_ word: [Unicode.Scalar], _ starts: [Int], _ ends: [Int], into out: inout [Piece], limit: Int) {
        let whole = starts[0]..<ends[word.count - 1]
        if word.count > maxInputCharsPerWord {
            out.append(Piece(id: unknownID, range: whole))
            return
        }
        var found: [Piece] = []
        var start = 0
        let prefixScalars = Array(prefix.unicodeScalars)
        while start < word.count {
            var end = min(word.count, start + longestEntry)
            var match: Int32?
            while end > start {
                var candidate = String.UnicodeScalarView()
                if start > 0 { candidate.append(contentsOf: prefixScalars) }
                candidate.append(contentsOf: word[start..<end])
                if let id = ids[String(candidate)] { match = id; break }
                end -= 1
            }
            guard let id = match else {
                out.append(Piece(id: unknownID, range: whole))
                return
            }
            found.append(Piece(id: id, range: starts[start]..<ends[end - 1]))
            start = end
        }
        out.append(contentsOf: found.prefix(limit - out.count))
    }

    static func isASCIIPunctuation(_ v: UInt32) -> Bool {
        (v >= 33 && v <= 47) || (v >= 58 && v <= 64) || (v >= 91 && v <= 96) || (v >= 123 && v <= 126)
    }

    static func isPunctuation(_ s: Unicode.Scalar) -> Bool {
        if s.value < 0x80 { return isASCIIPunctuation(s.value) }
        switch s.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .closePunctuation, .finalPunctuation,
             .initialPunctuation, .otherPunctuation, .openPunctuation:
            return true
        default:
            return false
        }
    }

    /// The CJK ideograph blocks BERT's handle_chinese_chars pads with spaces.
    static func isChinese(_ v: UInt32) -> Bool {
        (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0x3400 && v <= 0x4DBF) || (v >= 0x20000 && v <= 0x2A6DF)
            || (v >= 0x2A700 && v <= 0x2B73F) || (v >= 0x2B740 && v <= 0x2B81F) || (v >= 0x2B820 && v <= 0x2CEAF)
            || (v >= 0xF900 && v <= 0xFAFF) || (v >= 0x2F800 && v <= 0x2FA1F)
    }
}

/// What the embedder reports when a model folder, tokenizer or weights cannot be used.
public struct EmbedderError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
