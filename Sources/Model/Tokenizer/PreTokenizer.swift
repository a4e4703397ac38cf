/// Unicode classes as llama.cpp's tokenizer sees them (unicode-data.cpp, generated from Python's
/// `regex` module): \p{L}, \p{N}, \p{P} by general category, \s = the White_Space property.
enum UnicodeClass {
    static let letter: UInt8 = 0x01
    static let number: UInt8 = 0x02
    static let whitespace: UInt8 = 0x04
    static let punctuation: UInt8 = 0x08
    /// Set for every in-range code point, so 0 means "outside the fragment" (llama.cpp's
    /// `unicode_cpt_flags{}`), mirroring `as_uint() != 0`.
    static let present: UInt8 = 0x80

    private static let bmp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 0x10000)
        for c in 0..<0x10000 { table[c] = compute(UInt32(c)) }
        return table
    }()

    @inline(__always)
    static func flags(_ c: UInt32) -> UInt8 {
        c < 0x10000 ? bmp[Int(c)] : compute(c)
    }

    static func isWhitespace(_ c: UInt32) -> Bool {
        switch c {
        case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    private static func compute(_ c: UInt32) -> UInt8 {
        guard let s = Unicode.Scalar(c) else { return present } // surrogates: \p{C}
        var f = present
        if isWhitespace(c) { f |= whitespace }
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            f |= letter
        case .decimalNumber, .letterNumber, .otherNumber:
            f |= number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            f |= punctuation
        default:
            break
        }
        return f
    }
}

/// One stage of llama.cpp's `unicode_regex_split`: each stage re-splits every piece produced by
/// the previous one (matched and unmatched stretches alike).
enum PreTokenizerStep: Equatable {
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    /// (llama.cpp's `unicode_regex_split_custom_gpt2`).
    case gpt2
    /// `(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}|
    /// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+` (llama3 with 3 digits, qwen2 with 1).
    case llama3(maxDigits: Int)
    /// `\p{N}`: every number code point alone.
    case singleNumbers
    /// `\p{N}+`
    case numberRuns
    /// `[\p{P}\$\+<=>\^~\|]+`
    case punctuationRuns
    /// `[0-9][0-9][0-9]`
    case asciiDigitTriples
}

/// Splits text (as code points) into words the way llama.cpp's BPE pre-tokenizer does. Written
/// by hand, mirroring llama.cpp's custom splitters and the semantics its std::regex fallback gives
/// the simple class patterns.
struct PreTokenizer {
    let steps: [PreTokenizerStep]

    /// Lengths (in code points) of consecutive words covering `cps`.
    func split(_ cps: [UInt32]) -> [Int] {
        if cps.isEmpty { return [] }
        var offsets = [cps.count]
        for step in steps {
            var out = [Int]()
            out.reserveCapacity(max(offsets.count, cps.count / 3))
            var start = 0
            for len in offsets {
                let end = start + len
                switch step {
                case .gpt2: Self.splitGPT2(cps, start, end, &out)
                case .llama3(let maxDigits): Self.splitLlama3(cps, start, end, maxDigits, &out)
                case .singleNumbers:
                    Self.splitClass(cps, start, end, single: true, &out) { UnicodeClass.flags($0) & UnicodeClass.number != 0 }
                case .numberRuns:
                    Self.splitClass(cps, start, end, single: false, &out) { UnicodeClass.flags($0) & UnicodeClass.number != 0 }
                case .punctuationRuns:
                    Self.splitClass(cps, start, end, single: false, &out) { c in
                        switch c {
                        case 0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C: return true // $ + < = > ^ ~ |
                        default: return UnicodeClass.flags(c) & UnicodeClass.punctuation != 0
                        }
                    }
                case .asciiDigitTriples: Self.splitDigitTriples(cps, start, end, &out)
                }
                start = end
            }
            offsets = out
        }
        return offsets
    }

    private static let outOfRange: UInt32 = 0xFFFF_FFFF
    private static let apostrophe: UInt32 = 0x27
    private static let space: UInt32 = 0x20
    private static let cr: UInt32 = 0x0D
    private static let lf: UInt32 = 0x0A

    /// Regex-style split on a character class: each match (a maximal run, or one code point when
    /// `single`) and each stretch between matches becomes a piece.
    private static func splitClass(_ cps: [UInt32], _ ini: Int, _ end: Int, single: Bool,
                                   _ out: inout [Int], _ inClass: (UInt32) -> Bool) {
        var pos = ini
        var prev = ini
        while pos < end {
            if inClass(cps[pos]) {
                if pos > prev { out.append(pos - prev) }
                var e = pos + 1
                if !single { while e < end && inClass(cps[e]) { e += 1 } }
                out.append(e - pos)
                pos = e
                prev = e
            } else {
                pos += 1
            }
        }
        if end > prev { out.append(end - prev) }
    }

    private static func splitDigitTriples(_ cps: [UInt32], _ ini: Int, _ end: Int, _ out: inout [Int]) {
        @inline(__always) func isDigit(_ c: UInt32) -> Bool { c >= 0x30 && c <= 0x39 }
        var pos = ini
        var prev = ini
        while pos + 3 <= end {
            if isDigit(cps[pos]) && isDigit(cps[pos + 1]) && isDigit(cps[pos + 2]) {
                if pos > prev { out.append(pos - prev) }
                out.append(3)
                pos += 3
                prev = pos
            } else {
                pos += 1
            }
        }
        if end > prev { out.append(end - prev) }
    }

    private static func splitGPT2(_ cps: [UInt32], _ ini: Int, _ end: Int, _ out: inout [Int]) {
        @inline(__always) func cpt(_ p: Int) -> UInt32 { (p >= ini && p < end) ? cps[p] : outOfRange }
        @inline(__always) func flg(_ p: Int) -> UInt8 { (p >= ini && p < end) ? UnicodeClass.flags(cps[p]) : 0 }
        let L = UnicodeClass.letter, N = UnicodeClass.number, W = UnicodeClass.whitespace
        var prevEnd = ini
        @inline(__always) func add(_ e: Int) -> Int {
            let len = e - prevEnd
            if len > 0 { out.append(len) }
            prevEnd = e
            return len
        }
        var pos = ini
        while pos < end {
            let c = cpt(pos)
            let f = flg(pos)
            // 's|'t|'re|'ve|'m|'ll|'d
            if c == apostrophe && pos + 1 < end {
                let n = cpt(pos + 1)
                if n == 0x73 || n == 0x74 || n == 0x6D || n == 0x64 { // s t m d
                    pos += add(pos + 2)
                    continue
                }
                if pos + 2 < end {
                    let nn = cpt(pos + 2)
                    if (n == 0x72 && nn == 0x65) || (n == 0x76 && nn == 0x65) || (n == 0x6C && nn == 0x6C) { // re ve ll
                        pos += add(pos + 3)
                        continue
                    }
                }
            }
            var f2 = c == space ? flg(pos + 1) : f
            // <space>?\p{L}+
            if f2 & L != 0 {
                if c == space { pos += 1 }
                while f2 & L != 0 { pos += 1; f2 = flg(pos) }
                _ = add(pos)
                continue
            }
            // <space>?\p{N}+
            if f2 & N != 0 {
                if c == space { pos += 1 }
                while f2 & N != 0 { pos += 1; f2 = flg(pos) }
                _ = add(pos)
                continue
            }
            // <space>?[^\s\p{L}\p{N}]+
            if f2 & (W | L | N) == 0 && f2 != 0 {
                if c == space { pos += 1 }
                while f2 & (W | L | N) == 0 && f2 != 0 { pos += 1; f2 = flg(pos) }
                _ = add(pos)
                continue
            }
            var numWS = 0
            while flg(pos + numWS) & W != 0 { numWS += 1 }
            // \s+(?!\S)
            if numWS > 1 && cpt(pos + numWS) != outOfRange {
                pos += numWS - 1
                _ = add(pos)
                continue
            }
            // \s+
            if numWS > 0 {
                pos += numWS
                _ = add(pos)
                continue
            }
            pos += 1
            _ = add(pos)
        }
    }

    private static func splitLlama3(_ cps: [UInt32], _ ini: Int, _ end: Int, _ maxDigits: Int, _ out: inout [Int]) {
        @inline(__always) func cpt(_ p: Int) -> UInt32 { (p >= ini && p < end) ? cps[p] : outOfRange }
        @inline(__always) func flg(_ p: Int) -> UInt8 { (p >= ini && p < end) ? UnicodeClass.flags(cps[p]) : 0 }
        @inline(__always) func lower(_ c: UInt32) -> UInt32 { (c >= 0x41 && c <= 0x5A) ? c + 0x20 : c }
        let L = UnicodeClass.letter, N = UnicodeClass.number, W = UnicodeClass.whitespace
        var prevEnd = ini
        @inline(__always) func add(_ e: Int) -> Int {
            let len = e - prevEnd
            if len > 0 { out.append(len) }
            prevEnd = e
            return len
        }
        var pos = ini
        while pos < end {
            let c = cpt(pos)
            let f = flg(pos)
            // (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if c == apostrophe && pos + 1 < end {
                let n = lower(cpt(pos + 1))
                if n == 0x73 || n == 0x74 || n == 0x6D || n == 0x64 {
                    pos += add(pos + 2)
                    continue
                }
                if pos + 2 < end {
                    let nn = lower(cpt(pos + 2))
                    if (n == 0x72 && nn == 0x65) || (n == 0x76 && nn == 0x65) || (n == 0x6C && nn == 0x6C) {
                        pos += add(pos + 3)
                        continue
                    }
                }
            }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if !(c == cr || c == lf || f & N != 0) {
                if f & L != 0 || flg(pos + 1) & L != 0 {
                    pos += 1
                    while flg(pos) & L != 0 { pos += 1 }
                    _ = add(pos)
                    continue
                }
            }
            // \p{N}{1,maxDigits}
            if f & N != 0 {
                var groupStart = pos
                while flg(pos) & N != 0 {
                    pos += 1
                    if pos - groupStart >= maxDigits {
                        _ = add(pos)
                        groupStart = pos
                    }
                }
                _ = add(pos)
                continue
            }
            // <space>?[^\s\p{L}\p{N}]+[\r\n]*
            var f2 = c == space ? flg(pos + 1) : f
            if f2 & (W | L | N) == 0 && f != 0 {
                if c == space { pos += 1 }
                while f2 & (W | L | N) == 0 && f2 != 0 { pos += 1; f2 = flg(pos) }
                var c2 = cpt(pos)
                while c2 == cr || c2 == lf { pos += 1; c2 = cpt(pos) }
                _ = add(pos)
                continue
            }
            var numWS = 0
            var lastEndRN = 0
            while flg(pos + numWS) & W != 0 {
                let c2 = cpt(pos + numWS)
                if c2 == cr || c2 == lf { lastEndRN = pos + numWS + 1 }
                numWS += 1
            }
            // \s*[\r\n]+
            if lastEndRN > 0 {
                pos = lastEndRN
                _ = add(pos)
                continue
            }
            // \s+(?!\S)
            if numWS > 1 && cpt(pos + numWS) != outOfRange {
                pos += numWS - 1
                _ = add(pos)
                continue
            }
            // \s+
            if numWS > 0 {
                pos += numWS
                _ = add(pos)
                continue
            }
            pos += 1
            _ = add(pos)
        }
    }
}

/// What a `tokenizer.ggml.pre` value means for a BPE vocabulary (llama.cpp's llama_vocab::load).
struct PreTokenizerConfig {
    var steps: [PreTokenizerStep]
    var ignoreMerges = false
    var addBOS = false
    var cleanSpaces = true
    var clearBOS = false

    /// Throws `.badTokenizer` for names llama.cpp does not know (as llama.cpp does) and for
    /// names whose regexes this implementation does not reproduce.
    static func forName(_ pre: String?) throws -> PreTokenizerConfig {
        let gpt2Steps: [PreTokenizerStep] = [.gpt2]
        let smollmSteps: [PreTokenizerStep] = [.singleNumbers, .gpt2]
        let qwenSteps: [PreTokenizerStep] = [.llama3(maxDigits: 1)]
        let llama3Steps: [PreTokenizerStep] = [.llama3(maxDigits: 3)]
        guard let pre, !pre.isEmpty else {
            return PreTokenizerConfig(steps: [.punctuationRuns, .gpt2, .numberRuns, .asciiDigitTriples])
        }
        switch pre {
        case "default":
            return PreTokenizerConfig(steps: [.punctuationRuns, .gpt2, .numberRuns, .asciiDigitTriples])
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2":
            return PreTokenizerConfig(steps: llama3Steps, ignoreMerges: true, addBOS: true)
        case "dbrx", "smaug-bpe":
            return PreTokenizerConfig(steps: llama3Steps)
        case "glm4", "chatglm-bpe":
            return PreTokenizerConfig(steps: llama3Steps, clearBOS: true)
        case "falcon":
            return PreTokenizerConfig(steps: [.punctuationRuns, .gpt2, .asciiDigitTriples])
        case "gpt2", // not a llama.cpp name (it spells it "gpt-2"); accepted as an alias
             "mpt", "olmo", "jais", "exaone4",
             "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum", "modern-bert",
             "jina-v1-en", "jina-v2-code", "roberta-bpe":
            return PreTokenizerConfig(steps: gpt2Steps)
        case "trillion", "granite-docling":
            return PreTokenizerConfig(steps: gpt2Steps, cleanSpaces: false)
        case "starcoder", "refact", "codeshell", "exaone", "minerva-7b":
            return PreTokenizerConfig(steps: smollmSteps)
        case "smollm", "command-r":
            return PreTokenizerConfig(steps: smollmSteps, cleanSpaces: false)
        case "qwen2", "deepseek-r1-qwen", "kormo", "hunyuan", "solar-open", "grok-2":
            return PreTokenizerConfig(steps: qwenSteps, cleanSpaces: false)
        case "stablelm2", "megrez":
            return PreTokenizerConfig(steps: qwenSteps)
        case "deepseek-llm", "deepseek-coder", "deepseek-v3", "youtu", "poro-chat", "viking", "tekken", "bloom",
             "gpt3-finnish", "chameleon", "gpt-4o", "llama4", "superbpe", "bailingmoe", "bailingmoe2", "llada-moe",
             "seed-coder", "hunyuan-dense", "kimi-k2", "afmoe", "minimax-m2", "exaone-moe":
            throw GGUFError(.badTokenizer, "tokenizer.ggml.pre '\(pre)' is known to llama.cpp but not supported by this tokenizer")
        default:
            throw GGUFError(.badTokenizer, "unknown pre-tokenizer type tokenizer.ggml.pre = '\(pre)'")
        }
    }
}
