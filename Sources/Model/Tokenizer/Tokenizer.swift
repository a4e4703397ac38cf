import Foundation

// `public typealias TokenID = Int32` is declared in Engine/LanguageModel.swift (one declaration per module).

/// llama.cpp's token attributes (llama_token_attr).
struct TokenAttr: OptionSet {
    let rawValue: UInt16
    static let unknown = TokenAttr(rawValue: 1 << 0)
    static let unused = TokenAttr(rawValue: 1 << 1)
    static let normal = TokenAttr(rawValue: 1 << 2)
    static let control = TokenAttr(rawValue: 1 << 3)
    static let userDefined = TokenAttr(rawValue: 1 << 4)
    static let byte = TokenAttr(rawValue: 1 << 5)
    static let normalized = TokenAttr(rawValue: 1 << 6)
    static let lstrip = TokenAttr(rawValue: 1 << 7)
    static let rstrip = TokenAttr(rawValue: 1 << 8)

    /// From a GGUF token_type value (llama_token_type).
    static func fromTokenType(_ t: Int) -> TokenAttr {
        switch t {
        case 1: return .normal
        case 2: return .unknown
        case 3: return .control
        case 4: return .userDefined
        case 5: return .unused
        case 6: return .byte
        default: return []  // undefined
        }
    }
}

/// A GGUF vocabulary and llama.cpp-exact tokenisation for byte-level BPE ("gpt2") models
/// (special-token partition, the pre-tokenizer named by `tokenizer.ggml.pre`, rank-ordered
/// merges, byte fallback) and SentencePiece-style ("llama", llama.cpp's SPM) models (special-token
/// partition, spaces escaped to U+2581, an optional leading space, bigram merging by score, byte
/// fallback to `<0xXX>` tokens); and detokenisation (token_to_piece / detokenize).
public final class Tokenizer: @unchecked Sendable {
    public let bosID: TokenID?
    public let eosID: TokenID?
    /// `tokenizer.ggml.unknown_token_id` (SPM default 0; none for BPE unless the file says).
    public let unknownID: TokenID?
    /// Whether the model wants BOS in front of a prompt (`tokenizer.ggml.add_bos_token`; llama.cpp's
    /// default is true for SPM and depends on the pre-tokenizer for BPE).
    public let addBOS: Bool
    /// `tokenizer.ggml.add_space_prefix` (default true for SPM, false for BPE): SPM encoding puts a
    /// space before the first raw fragment and after every special token, and `decode` drops one
    /// leading space of the first token's piece (both as llama.cpp does).
    public let addSpacePrefix: Bool
    public let endOfGeneration: Set<TokenID>

    /// The `tokenizer.ggml.model` and `tokenizer.ggml.pre` values.
    public let modelType: String
    public let preType: String

    public var vocabularySize: Int { texts.count }

    enum Kind { case bpe, spm }
    let kind: Kind

    let texts: [String]
    let attrs: [TokenAttr]
    /// BPE only: Swift-String keyed lookup (the merge table is built through it).
    let textToID: [String: TokenID]
    /// SPM only: exact-byte lookup of every token text.
    let vocabIndex: ByteStringTable
    /// SPM only: `tokenizer.ggml.scores`.
    let scores: [Float]
    /// SPM only: byte_to_token for each byte (-1 where the vocabulary has none).
    let byteTokens: [TokenID]
    let merges: BPEMerges
    /// Strings used by merges but absent from the vocabulary; synthetic id = vocabularySize + index.
    let syntheticTexts: [String]
    /// Symbol id of each byte's stand-in character.
    let byteSymbol: [TokenID]
    let preTokenizer: PreTokenizer
    let ignoreMerges: Bool
    let cleanSpaces: Bool
    let addEOS: Bool
    /// CONTROL / USER_DEFINED / UNKNOWN tokens, longest text first: (id, UTF-8 text, attributes).
    let specialTokens: [(id: TokenID, bytes: [UInt8], attr: TokenAttr)]
    /// token_to_piece with special = true, precomputed for every id.
    let pieces: PieceTable

    private let cacheLock = NSLock()
    private var wordCache: [String: [TokenID]] = [:]
    private static let wordCacheLimit = 200_000

    // MARK: - Loading

    public init(gguf: GGUFFile) throws {
        let md = gguf.metadata

        guard let modelValue = md["tokenizer.ggml.model"] else {
            throw GGUFError(.badTokenizer, "missing tokenizer.ggml.model")
        }
        guard let model = modelValue.string else {
            throw GGUFError(.badTokenizer, "tokenizer.ggml.model is not a string")
        }
        let kind: Kind
        switch model {
        case "gpt2": kind = .bpe
        case "llama": kind = .spm
        default:
            throw GGUFError(.badTokenizer, "tokenizer.ggml.model '\(model)' is not supported (only byte-level BPE 'gpt2' and SentencePiece 'llama')")
        }
        self.kind = kind
        modelType = model
        let pre = md["tokenizer.ggml.pre"]?.string
        preType = pre ?? "default"
        // SPM ignores tokenizer.ggml.pre, as llama.cpp does (its pre type is always DEFAULT).
        var config = kind == .bpe
            ? try PreTokenizerConfig.forName(pre)
            : PreTokenizerConfig(steps: [], ignoreMerges: false, addBOS: true, cleanSpaces: false)
        var addSpacePrefix = kind == .spm
        if let v = md["tokenizer.ggml.add_space_prefix"] {
            guard let b = v.bool else { throw GGUFError(.badTokenizer, "tokenizer.ggml.add_space_prefix is not a bool") }
            addSpacePrefix = b
        }

        // Vocabulary
        guard let tokenValues = md["tokenizer.ggml.tokens"]?.array else {
            throw GGUFError(.badTokenizer, "missing or non-array tokenizer.ggml.tokens")
        }
        let n = tokenValues.count
        guard n > 0 else { throw GGUFError(.badTokenizer, "tokenizer.ggml.tokens is empty") }
        guard n < Int(Int32.max) / 2 else { throw GGUFError(.badTokenizer, "tokenizer.ggml.tokens has too many entries (\(n))") }

        var scores = [Float]()
        if let scoreValue = md["tokenizer.ggml.scores"] {
            guard let arr = scoreValue.array else { throw GGUFError(.badTokenizer, "tokenizer.ggml.scores is not an array") }
            guard arr.count == n else {
                throw GGUFError(.badTokenizer, "tokenizer.ggml.scores has \(arr.count) entries but tokenizer.ggml.tokens has \(n)")
            }
            if kind == .spm {
                scores.reserveCapacity(n)
                for (i, v) in arr.enumerated() {
                    switch v {
                    case .float32(let f): scores.append(f)
                    case .int32(let k): scores.append(Float(k))
                    default: throw GGUFError(.badTokenizer, "tokenizer.ggml.scores[\(i)] is not a float32 or int32")
                    }
                }
            }
        } else if kind == .spm {
            scores = [Float](repeating: 0, count: n)
        }
        var attrs = [TokenAttr](repeating: .normal, count: n)
        if let types = md["tokenizer.ggml.token_type"] {
            guard let arr = types.array else { throw GGUFError(.badTokenizer, "tokenizer.ggml.token_type is not an array") }
            guard arr.count == n else {
                throw GGUFError(.badTokenizer, "tokenizer.ggml.token_type has \(arr.count) entries but tokenizer.ggml.tokens has \(n)")
            }
            for i in 0..<n {
                guard let t = arr[i].int else {
                    throw GGUFError(.badTokenizer, "tokenizer.ggml.token_type[\(i)] is not an integer")
                }
                attrs[i] = TokenAttr.fromTokenType(t)
            }
        }

        var texts = [String]()
        texts.reserveCapacity(n)
        var textToID = [String: TokenID](minimumCapacity: kind == .bpe ? n : 0)
        for i in 0..<n {
            guard var s = tokenValues[i].string else {
                throw GGUFError(.badTokenizer, "tokenizer.ggml.tokens[\(i)] is not a string")
            }
            if s.isEmpty { s = "[EMPTY_\(i)]" }
            if kind == .bpe { textToID[s] = TokenID(i) }  // a later duplicate wins, as in llama.cpp
            texts.append(s)
        }
        let vocabIndex = kind == .spm ? ByteStringTable(texts) : ByteStringTable()
        /// Exact vocabulary lookup for either kind.
        func lookup(_ s: String) -> TokenID? {
            kind == .spm ? vocabIndex.find(s) : textToID[s]
        }

        // Merges (BPE)
        var synthetic = [String]()
        var merges = BPEMerges()
        if kind == .bpe {
            guard let mergeValues = md["tokenizer.ggml.merges"]?.array else {
                throw GGUFError(.badTokenizer, "missing or non-array tokenizer.ggml.merges (required for a gpt2 tokenizer)")
            }
            var syntheticIDs = [String: TokenID]()
            func symbolID(_ s: String) -> TokenID {
                if let id = textToID[s] { return id }
                if let id = syntheticIDs[s] { return id }
                let id = TokenID(n + synthetic.count)
                synthetic.append(s)
                syntheticIDs[s] = id
                return id
            }
            merges.table.reserveCapacity(mergeValues.count)
            for (rank, v) in mergeValues.enumerated() {
                guard var m = v.string else {
                    throw GGUFError(.badTokenizer, "tokenizer.ggml.merges[\(rank)] is not a string")
                }
                // Split at the first space after position 0, as llama.cpp does.
                let parts: (String, String, String)? = m.withUTF8 { buf in
                    guard buf.count >= 3 else { return nil }
                    var sp = 1
                    while sp < buf.count && buf[sp] != 0x20 { sp += 1 }
                    guard sp < buf.count - 1 else { return nil }
                    let first = String(decoding: UnsafeBufferPointer(rebasing: buf[0..<sp]), as: UTF8.self)
                    let second = String(decoding: UnsafeBufferPointer(rebasing: buf[(sp + 1)...]), as: UTF8.self)
                    var joined = [UInt8](UnsafeBufferPointer(rebasing: buf[0..<sp]))
                    joined.append(contentsOf: UnsafeBufferPointer(rebasing: buf[(sp + 1)...]))
                    return (first, second, String(decoding: joined, as: UTF8.self))
                }
                guard let (first, second, joined) = parts else { continue }
                let l = textToID[first] ?? symbolID(first)
                let r = textToID[second] ?? symbolID(second)
                let key = BPEMerges.key(l, r)
                if merges.table[key] == nil {
                    let res = textToID[joined] ?? symbolID(joined)
                    merges.table[key] = BPEMerges.Entry(rank: Int32(rank), result: res)
                }
            }
            byteSymbol = (0..<256).map { symbolID(String(Character(Unicode.Scalar(ByteLevel.byteToScalar[$0])!))) }
        } else {
            byteSymbol = []
        }

        // Special token ids. llama.cpp's defaults when the keys are absent: BPE bos = eos = 11;
        // SPM bos = 1, eos = 2, unk = 0.
        func specialID(_ key: String, default def: TokenID?) throws -> TokenID? {
            guard let v = md[key] else {
                if let def, def >= 0, Int(def) < n { return def }
                return nil
            }
            guard let id = v.int else { throw GGUFError(.badTokenizer, "\(key) is not an integer") }
            guard id >= 0 && id < n else {
                throw GGUFError(.badTokenizer, "\(key) = \(id) is outside the vocabulary (size \(n))")
            }
            return TokenID(id)
        }
        let bos = try specialID("tokenizer.ggml.bos_token_id", default: kind == .spm ? 1 : (config.clearBOS ? nil : 11))
        let eos = try specialID("tokenizer.ggml.eos_token_id", default: kind == .spm ? 2 : 11)
        var eot = try specialID("tokenizer.ggml.eot_token_id", default: nil)
        var eom = try specialID("tokenizer.ggml.eom_token_id", default: nil)
        let unk = try specialID("tokenizer.ggml.unknown_token_id", default: kind == .spm ? 0 : nil)
        _ = try specialID("tokenizer.ggml.seperator_token_id", default: nil)
        _ = try specialID("tokenizer.ggml.padding_token_id", default: nil)
        _ = try specialID("tokenizer.ggml.mask_token_id", default: nil)
        _ = try specialID("tokenizer.ggml.fim_pre_token_id", default: nil)
        _ = try specialID("tokenizer.ggml.fim_suf_token_id", default: nil)
        _ = try specialID("tokenizer.ggml.fim_mid_token_id", default: nil)
        var fimPad = try specialID("tokenizer.ggml.fim_pad_token_id", default: nil)
        var fimRep = try specialID("tokenizer.ggml.fim_rep_token_id", default: nil)
        var fimSep = try specialID("tokenizer.ggml.fim_sep_token_id", default: nil)

        if let v = md["tokenizer.ggml.add_bos_token"] {
            guard let b = v.bool else { throw GGUFError(.badTokenizer, "tokenizer.ggml.add_bos_token is not a bool") }
            config.addBOS = b
        }
        var addEOS = false
        if let v = md["tokenizer.ggml.add_eos_token"] {
            guard let b = v.bool else { throw GGUFError(.badTokenizer, "tokenizer.ggml.add_eos_token is not a bool") }
            addEOS = b
        }

        // Auto-detection by text, as llama.cpp's vocab loader does (lowest id wins where llama.cpp
        // takes whichever its hash map yields first). Detected tokens become CONTROL.
        let eotTexts: Set<String> = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                     "<|end_of_text|>", "<EOT>", "_<EOT>", "<｜end▁of▁sentence｜>", "<end_of_utterance>"]
        let fimPadTexts: Set<String> = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"]
        let fimRepTexts: Set<String> = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
        let fimSepTexts: Set<String> = ["<|file_sep|>"]
        let fimPreTexts: Set<String> = ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>"]
        let fimSufTexts: Set<String> = ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>"]
        let fimMidTexts: Set<String> = ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>"]
        let eogTexts: Set<String> = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
                                     "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>",
                                     "<end_of_utterance>"]
        let fimPreFound = md["tokenizer.ggml.fim_pre_token_id"] != nil || md["tokenizer.ggml.prefix_token_id"] != nil
        let fimSufFound = md["tokenizer.ggml.fim_suf_token_id"] != nil || md["tokenizer.ggml.suffix_token_id"] != nil
        let fimMidFound = md["tokenizer.ggml.fim_mid_token_id"] != nil || md["tokenizer.ggml.middle_token_id"] != nil
        // Only the candidate texts are looked up; among several present, the lowest id wins.
        func detect(_ candidates: Set<String>) -> TokenID? {
            candidates.compactMap { lookup($0) }.min()
        }
        if eot == nil, let id = detect(eotTexts) { eot = id; attrs[Int(id)].insert(.control) }
        if eom == nil, let id = detect(["<|eom_id|>"]) { eom = id; attrs[Int(id)].insert(.control) }
        if !fimPreFound, let id = detect(fimPreTexts) { attrs[Int(id)].insert(.control) }
        if !fimSufFound, let id = detect(fimSufTexts) { attrs[Int(id)].insert(.control) }
        if !fimMidFound, let id = detect(fimMidTexts) { attrs[Int(id)].insert(.control) }
        if fimPad == nil, let id = detect(fimPadTexts) { fimPad = id; attrs[Int(id)].insert(.control) }
        if fimRep == nil, let id = detect(fimRepTexts) { fimRep = id; attrs[Int(id)].insert(.control) }
        if fimSep == nil, let id = detect(fimSepTexts) { fimSep = id; attrs[Int(id)].insert(.control) }
        // Control tokens whose text contains "unused" are marked UNUSED.
        for i in 0..<n where attrs[i].contains(.control) && texts[i].utf8.count >= 6 && texts[i].contains("unused") {
            attrs[i].insert(.unused)
        }

        var eog = Set<TokenID>()
        for id in [fimPad, fimRep, fimSep] { if let id { eog.insert(id) } }
        for text in eogTexts {
            if let id = lookup(text) {
                eog.insert(id)
                attrs[Int(id)].insert(.control)
            }
        }
        for text in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let id = lookup(text) { attrs[Int(id)].insert(.userDefined) }
        }
        for id in [eos, eot, eom] { if let id { eog.insert(id) } }
        // gpt-oss / solar-open: "<|end|>" is not end-of-generation when "<|return|>"/"<|call|>" exist.
        do {
            var hasReturn = false, hasCall = false, hasFlush = false
            var endID: TokenID?
            for id in eog {
                switch texts[Int(id)] {
                case "<|return|>": hasReturn = true
                case "<|call|>", "<|calls|>": hasCall = true
                case "<|flush|>": hasFlush = true
                case "<|end|>": endID = id
                default: break
                }
            }
            if let endID, (hasReturn && hasCall) || (hasCall && hasFlush) {
                eog.remove(endID)
                attrs[Int(endID)].insert(.userDefined)
            }
        }

        // Per-model attribute fix-ups llama.cpp applies by name.
        let modelName = (md["general.name"]?.string ?? "").lowercased()
        if ["jina-v2-de", "jina-v2-es", "jina-v2-code"].contains(where: { (pre ?? "").contains($0) }) {
            if let m = lookup("<mask>") { attrs[Int(m)].insert(.lstrip) }
        } else if modelName.contains("phi-3") || modelName.contains("phi3") {
            for i in 0..<n where !attrs[i].intersection([.control, .userDefined, .unknown]).isEmpty {
                attrs[i].insert(.rstrip)
            }
            if let t = lookup("</s>") { attrs[Int(t)].insert(.rstrip) }
            for s in ["<unk>", "<s>", "<|endoftext|>"] { if let t = lookup(s) { attrs[Int(t)].remove(.rstrip) } }
        }

        // Special-token cache, longest text first (ties by id).
        var specials = [(id: TokenID, bytes: [UInt8], attr: TokenAttr)]()
        for i in 0..<n where !attrs[i].intersection([.control, .userDefined, .unknown]).isEmpty {
            specials.append((TokenID(i), Array(texts[i].utf8), attrs[i]))
        }
        specials.sort { $0.bytes.count != $1.bytes.count ? $0.bytes.count > $1.bytes.count : $0.id < $1.id }

        // token_to_piece(special: true) for every id.
        var pieces = PieceTable()
        for i in 0..<n {
            let a = attrs[i]
            switch kind {
            case .spm:
                pieces.append(SentencePiece.piece(text: vocabIndex.bytes(of: i), attr: a))
            case .bpe:
                if !a.intersection([.unknown, .control, .userDefined]).isEmpty {
                    pieces.append(texts[i].utf8)
                } else if a.contains(.normal) {
                    pieces.append(ByteLevel.decode(texts[i]))
                } else {
                    pieces.append([UInt8]())
                }
            }
        }

        self.texts = texts
        self.attrs = attrs
        self.textToID = textToID
        self.vocabIndex = vocabIndex
        self.scores = scores
        self.byteTokens = kind == .spm ? SentencePiece.byteTokens(vocabIndex) : []
        self.merges = merges
        self.syntheticTexts = synthetic
        self.preTokenizer = PreTokenizer(steps: config.steps)
        self.ignoreMerges = config.ignoreMerges
        self.cleanSpaces = config.cleanSpaces
        self.addBOS = config.addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix
        self.bosID = bos
        self.eosID = eos
        self.unknownID = unk
        self.endOfGeneration = eog
        self.specialTokens = specials
        self.pieces = pieces
    }

    // MARK: - Lookup

    public func isEndOfGeneration(_ id: TokenID) -> Bool {
        endOfGeneration.contains(id)
    }

    /// The raw vocabulary string of `id` ("" when out of range).
    public func tokenText(_ id: TokenID) -> String {
        guard id >= 0 && Int(id) < texts.count else { return "" }
        return texts[Int(id)]
    }

    /// Exact vocabulary lookup of a token's raw string (byte-level encoded for BPE, with "▁" for
    /// spaces for SPM). SPM compares bytes, not canonical equivalence.
    public func id(of text: String) -> TokenID? {
        kind == .spm ? vocabIndex.find(text) : textToID[text]
    }

    /// Bytes a byte-level BPE vocabulary has no token for, in order (none for SentencePiece, which
    /// has byte tokens or an unknown token). Encoding drops them, as llama.cpp does, so text that
    /// holds one does not decode back to itself.
    public var bytesWithoutToken: [UInt8] {
        guard kind == .bpe else { return [] }
        return (0...255).filter { b in
            id(of: String(Character(Unicode.Scalar(ByteLevel.byteToScalar[b])!))) == nil
        }.map(UInt8.init)
    }

    /// Whether `id` is a control (or unknown) token, which renders only with renderSpecial.
    public func isControl(_ id: TokenID) -> Bool {
        guard id >= 0 && Int(id) < attrs.count else { return false }
        return !attrs[Int(id)].intersection([.control, .unknown]).isEmpty
    }

    // MARK: - Encoding

    /// Tokenises `text` as llama_tokenize does: special tokens (CONTROL/UNKNOWN only when
    /// `parseSpecial`; USER_DEFINED always) are cut out first, then each remaining fragment is
    /// pre-tokenized and BPE-merged (BPE) or space-escaped and bigram-merged (SPM, with a space in
    /// front of a fragment that starts the text or follows a special token when
    /// `addSpacePrefix`). `addBOS` nil uses the model's default (`self.addBOS`); BOS is added even
    /// when the text already starts with it (as llama.cpp does; see `encodePrompt` for the
    /// BOS-once form). EOS is never appended (llama.cpp's add_special would for models with
    /// add_eos_token).
    public func encode(_ text: String, parseSpecial: Bool = true, addBOS: Bool? = nil) -> [TokenID] {
        let bytes = Array(text.utf8)
        var out = [TokenID]()
        out.reserveCapacity(bytes.count / 3 + 2)
        let addSpecial = addBOS ?? self.addBOS
        if addSpecial, let bos = bosID { out.append(bos) }
        switch kind {
        case .bpe:
            for fragment in partition(bytes, parseSpecial: parseSpecial) {
                switch fragment {
                case .token(let id): out.append(id)
                case .raw(let start, let count): tokenizeRaw(bytes, start, count, into: &out)
                }
            }
        case .spm:
            var previousIsSpecial = true  // the first fragment gets the space prefix too
            for fragment in partition(bytes, parseSpecial: parseSpecial) {
                switch fragment {
                case .token(let id):
                    out.append(id)
                    previousIsSpecial = true
                case .raw(let start, let count):
                    SentencePiece.tokenize(bytes, start, count, prefixSpace: addSpacePrefix && previousIsSpecial,
                                           index: vocabIndex, scores: scores, byteTokens: byteTokens,
                                           unknown: unknownID, into: &out)
                    previousIsSpecial = false
                }
            }
        }
        return out
    }

    /// Tokenises a prompt as rendered by a chat template (or any text that may already carry its
    /// BOS): special tokens are parsed, and BOS is put in front only when the model asks for it
    /// (`addBOS`, from `tokenizer.ggml.add_bos_token`) and the text does not already begin with
    /// the BOS token (Llama 3's template starts with `<|begin_of_text|>`, Gemma's with `<bos>`), so
    /// the model sees exactly one BOS. Text starting with anything else (even whitespace before
    /// the BOS text) gets one added.
    public func encodePrompt(_ rendered: String) -> [TokenID] {
        let body = encode(rendered, parseSpecial: true, addBOS: false)
        guard promptNeedsBOS(body), let bos = bosID else { return body }
        return [bos] + body
    }

    /// Whether BOS should go in front of `ids` (tokens encoded without BOS) under the BOS-once
    /// rule of `encodePrompt`: the model asks for BOS and `ids` do not already start with it.
    public func promptNeedsBOS(_ ids: [TokenID]) -> Bool {
        guard addBOS, let bos = bosID else { return false }
        return ids.first != bos
    }

    enum Fragment: Equatable {
        case token(TokenID)
        case raw(Int, Int)
    }

    /// llama.cpp's tokenizer_st_partition.
    func partition(_ bytes: [UInt8], parseSpecial: Bool) -> [Fragment] {
        if bytes.isEmpty { return [] }
        var fragments: [Fragment] = [.raw(0, bytes.count)]
        @inline(__always) func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
        // With many special tokens (Gemma 3 has 6,414), skip those that cannot occur anywhere in
        // the text: one whose bytes or byte pairs are absent. Exact, only faster: every fragment
        // is a part of the text.
        let filter = specialTokens.count > 64 ? BytePairSet(bytes) : nil
        for special in specialTokens {
            if !parseSpecial && !special.attr.intersection([.control, .unknown]).isEmpty { continue }
            let pattern = special.bytes
            if pattern.isEmpty { continue }
            if let filter, !filter.mayContain(pattern) { continue }
            var next = [Fragment]()
            var changed = false
            for fragment in fragments {
                guard case .raw(var baseOffset, var baseLength) = fragment else {
                    next.append(fragment)
                    continue
                }
                while true {
                    guard let match = Self.find(pattern, in: bytes, from: baseOffset, to: baseOffset + baseLength) else {
                        if baseLength > 0 { next.append(.raw(baseOffset, baseLength)) }
                        break
                    }
                    changed = true
                    if match > baseOffset {
                        var leftLength = match - baseOffset
                        if special.attr.contains(.lstrip) {
                            while leftLength > 0 && isSpace(bytes[baseOffset + leftLength - 1]) { leftLength -= 1 }
                        }
                        if leftLength > 0 { next.append(.raw(baseOffset, leftLength)) }
                    }
                    next.append(.token(special.id))
                    let matchEnd = match + pattern.count
                    if matchEnd < baseOffset + baseLength {
                        var rightOffset = matchEnd
                        var rightLength = baseOffset + baseLength - matchEnd
                        if special.attr.contains(.rstrip) {
                            while rightLength > 0 && isSpace(bytes[rightOffset]) { rightOffset += 1; rightLength -= 1 }
                        }
                        baseOffset = rightOffset
                        baseLength = rightLength
                        if rightLength == 0 { break }
                    } else {
                        break
                    }
                }
            }
            if changed { fragments = next }
        }
        return fragments
    }

    private static func find(_ pattern: [UInt8], in bytes: [UInt8], from: Int, to: Int) -> Int? {
        let m = pattern.count
        if to - from < m { return nil }
        let first = pattern[0]
        var i = from
        let last = to - m
        return bytes.withUnsafeBufferPointer { b in
            pattern.withUnsafeBufferPointer { p in
                while i <= last {
                    if b[i] == first {
                        var j = 1
                        while j < m && b[i + j] == p[j] { j += 1 }
                        if j == m { return i }
                    }
                    i += 1
                }
                return nil
            }
        }
    }

    /// Pre-tokenizes and BPE-encodes one raw fragment (valid UTF-8: cut at token boundaries).
    private func tokenizeRaw(_ bytes: [UInt8], _ start: Int, _ count: Int, into out: inout [TokenID]) {
        // Decode code points, remembering where each starts in `bytes`.
        var cps = [UInt32]()
        var starts = [Int]()
        cps.reserveCapacity(count)
        starts.reserveCapacity(count + 1)
        var i = start
        let end = start + count
        while i < end {
            let b0 = bytes[i]
            var len = 1
            var c = UInt32(b0)
            if b0 >= 0xF0, i + 3 < end {
                len = 4
                c = (UInt32(b0 & 0x07) << 18) | (UInt32(bytes[i + 1] & 0x3F) << 12) | (UInt32(bytes[i + 2] & 0x3F) << 6) | UInt32(bytes[i + 3] & 0x3F)
            } else if b0 >= 0xE0, i + 2 < end {
                len = 3
                c = (UInt32(b0 & 0x0F) << 12) | (UInt32(bytes[i + 1] & 0x3F) << 6) | UInt32(bytes[i + 2] & 0x3F)
            } else if b0 >= 0xC0, i + 1 < end {
                len = 2
                c = (UInt32(b0 & 0x1F) << 6) | UInt32(bytes[i + 1] & 0x3F)
            }
            cps.append(c)
            starts.append(i)
            i += len
        }
        starts.append(end)

        var cpPos = 0
        for wordLength in preTokenizer.split(cps) {
            let b0 = starts[cpPos], b1 = starts[cpPos + wordLength]
            cpPos += wordLength
            encodeWord(bytes[b0..<b1], into: &out)
        }
    }

    private func encodeWord(_ word: ArraySlice<UInt8>, into out: inout [TokenID]) {
        let key = ByteLevel.encode(word)
        cacheLock.lock()
        let cached = wordCache[key]
        cacheLock.unlock()
        if let cached {
            out.append(contentsOf: cached)
            return
        }
        var result = [TokenID]()
        if ignoreMerges, let id = textToID[key] {
            result = [id]
        } else {
            let symbols = merges.merge(word.map { byteSymbol[Int($0)] })
            let n = texts.count
            for s in symbols {
                if Int(s) < n {
                    result.append(s)
                } else {
                    // Not a vocabulary token: fall back to single-byte strings of its spelling
                    // (only ASCII ones can exist), dropping the rest, as llama.cpp does.
                    let text: String
                    if s >= 0 && Int(s) - n < syntheticTexts.count { text = syntheticTexts[Int(s) - n] } else { continue }
                    for b in text.utf8 where b < 0x80 {
                        if let id = textToID[String(UnicodeScalar(b))] { result.append(id) }
                    }
                }
            }
        }
        cacheLock.lock()
        if wordCache.count >= Self.wordCacheLimit { wordCache.removeAll(keepingCapacity: true) }
        wordCache[key] = result
        cacheLock.unlock()
        out.append(contentsOf: result)
    }

    // MARK: - Decoding

    /// The bytes `id` contributes to text, rendered as special: control and user-defined tokens
    /// give their raw text, normal tokens their byte-level-decoded bytes, others nothing
    /// (llama.cpp's token_to_piece with special = true). Use `piece(_:renderSpecial:)` to hide
    /// control tokens.
    public func piece(_ id: TokenID) -> [UInt8] {
        piece(id, renderSpecial: true)
    }

    /// llama.cpp's token_to_piece: with `renderSpecial` false, CONTROL and UNKNOWN tokens give
    /// nothing.
    public func piece(_ id: TokenID, renderSpecial: Bool) -> [UInt8] {
        guard id >= 0 && Int(id) < pieces.count else { return [] }
        if !renderSpecial && !attrs[Int(id)].intersection([.control, .unknown]).isEmpty { return [] }
        return pieces.piece(Int(id))
    }

    /// llama.cpp's detokenize (remove_special false): pieces concatenated, then the model's
    /// clean_up_tokenization_spaces rules when it has them; invalid UTF-8 becomes U+FFFD. With
    /// `addSpacePrefix` one leading space of the first token's piece is dropped (only the first
    /// token's, even when that token renders as nothing), as llama.cpp does.
    public func decode(_ ids: [TokenID], renderSpecial: Bool = false) -> String {
        String(decoding: decodeBytes(ids, renderSpecial: renderSpecial), as: UTF8.self)
    }

    /// The bytes `decode` would turn into a string.
    public func decodeBytes(_ ids: [TokenID], renderSpecial: Bool = false) -> [UInt8] {
        var text = [UInt8]()
        var removeSpace = addSpacePrefix
        for id in ids {
            if id >= 0 && Int(id) < pieces.count
                && (renderSpecial || attrs[Int(id)].intersection([.control, .unknown]).isEmpty) {
                pieces.append(Int(id), lstrip: removeSpace ? 1 : 0, to: &text)
            }
            removeSpace = false
        }
        if cleanSpaces { text = Self.cleanUpSpaces(text) }
        return text
    }

    /// The three clean-up passes of llama.cpp's detokenize.
    static func cleanUpSpaces(_ input: [UInt8]) -> [UInt8] {
        let space = UInt8(ascii: " "), quote = UInt8(ascii: "'")
        // 1: " ?", " !", " .", " ," lose the space.
        var a = [UInt8]()
        a.reserveCapacity(input.count)
        for (i, x) in input.enumerated() {
            if i > 0 && input[i - 1] == space && (x == UInt8(ascii: "?") || x == UInt8(ascii: "!") || x == UInt8(ascii: ".") || x == UInt8(ascii: ",")) {
                a.removeLast()
            }
            a.append(x)
        }
        // 2: " ' " becomes "'".
        var b = [UInt8]()
        b.reserveCapacity(a.count)
        var i = 0
        while i < a.count {
            let x = a[i]
            if i > 0 && x == quote && i + 1 < a.count && a[i - 1] == space && a[i + 1] == space {
                b.removeLast()
                b.append(x)
                i += 2
                continue
            }
            b.append(x)
            i += 1
        }
        // 3: " 's", " 'm", " 're", " 've" lose the space.
        var c = [UInt8]()
        c.reserveCapacity(b.count)
        for (j, x) in b.enumerated() {
            if j > 0 && b[j - 1] == space && x == quote && j + 1 < b.count {
                let x1 = b[j + 1]
                if x1 == UInt8(ascii: "s") || x1 == UInt8(ascii: "m") {
                    c.removeLast()
                } else if j + 2 < b.count {
                    let x2 = b[j + 2]
                    if (x1 == UInt8(ascii: "r") && x2 == UInt8(ascii: "e")) || (x1 == UInt8(ascii: "v") && x2 == UInt8(ascii: "e")) {
                        c.removeLast()
                    }
                }
            }
            c.append(x)
        }
        return c
    }
}

/// Streaming detokenisation that never emits half a UTF-8 character: append ids, get the text
/// that is complete so far.
public struct StreamingDecoder {
    public let tokenizer: Tokenizer
    public let renderSpecial: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: Tokenizer, renderSpecial: Bool = false) {
        self.tokenizer = tokenizer
        self.renderSpecial = renderSpecial
    }

    /// Newly completed text ("" while a multi-byte character is still incomplete). Bytes that can
    /// never become valid UTF-8 are emitted as U+FFFD.
    public mutating func append(_ id: TokenID) -> String {
        pending.append(contentsOf: tokenizer.piece(id, renderSpecial: renderSpecial))
        let keep = Self.incompleteSuffixLength(pending)
        let ready = pending.count - keep
        if ready == 0 { return "" }
        let text = String(decoding: pending[0..<ready], as: UTF8.self)
        pending.removeFirst(ready)
        return text
    }

    /// Whatever is left, invalid bytes as U+FFFD.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of a trailing, so-far-valid but unfinished UTF-8 sequence (0...3).
    static func incompleteSuffixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var k = 1
        while k <= min(3, n) {
            let b = bytes[n - k]
            if b & 0xC0 == 0x80 { k += 1; continue }  // continuation byte: keep looking for the lead
            let need: Int
            if b & 0xE0 == 0xC0 { need = 2 } else if b & 0xF0 == 0xE0 { need = 3 } else if b & 0xF8 == 0xF0 { need = 4 } else { return 0 }
            return need > k ? k : 0
        }
        return 0
    }
}
