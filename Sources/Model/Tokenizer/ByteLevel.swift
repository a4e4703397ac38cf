/// GPT-2's reversible byte <-> printable-character map ("bytes_to_unicode"), as used by
/// byte-level BPE vocabularies: printable Latin-1 bytes map to themselves, the other 68 bytes
/// to U+0100... in byte order.
enum ByteLevel {
    /// byte -> Unicode scalar value of its stand-in character.
    static let byteToScalar: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var isDirect = [Bool](repeating: false, count: 256)
        for b in 0x21...0x7E { isDirect[b] = true }
        for b in 0xA1...0xAC { isDirect[b] = true }
        for b in 0xAE...0xFF { isDirect[b] = true }
        var next: UInt32 = 256
        for b in 0..<256 {
            if isDirect[b] {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// Stand-in scalar value -> byte, or -1. Indexed by scalar value (all stand-ins are < 0x144).
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in byteToScalar.enumerated() { table[Int(s)] = Int16(b) }
        return table
    }()

    /// The stand-in characters of each byte, as UTF-8 (1 or 2 bytes each).
    static let byteToUTF8: [[UInt8]] = byteToScalar.map { Array(String(Character(Unicode.Scalar($0)!)).utf8) }

    /// Byte-level encoding of raw bytes: the vocabulary spelling of `bytes`.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes { out.append(contentsOf: byteToUTF8[Int(b)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// llama.cpp's `llama_decode_text`: maps each character of a vocabulary string back to its
    /// byte. A character outside the map is rendered as "[UNK_BYTE_0x<utf8 hex><whole text>]",
    /// exactly as llama.cpp does.
    static func decode(_ text: String) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let v = Int(scalar.value)
            if v < scalarToByte.count, scalarToByte[v] >= 0 {
                out.append(UInt8(scalarToByte[v]))
            } else {
                out.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
                for u in String(scalar).utf8 {
                    let hex = String(u, radix: 16)
                    out.append(contentsOf: Array((hex.count < 2 ? "0" + hex : hex).utf8))
                }
                out.append(contentsOf: Array(text.utf8))
                out.append(UInt8(ascii: "]"))
            }
        }
        return out
    }
}
