/// One metadata value of a GGUF file.
public indirect enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16)
    case uint32(UInt32), int32(Int32), uint64(UInt64), int64(Int64)
    case float32(Float), float64(Double), bool(Bool)
    case string(String)
    case array([GGUFValue])

    /// The on-disk type ids (gguf_type).
    enum TypeID: UInt32 {
        case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6
        case bool = 7, string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

        /// Smallest number of bytes one value of this type occupies: used to bound counts
        /// against the bytes left in the file before anything is allocated.
        var minimumBytes: Int {
            switch self {
            case .uint8, .int8, .bool: return 1
            case .uint16, .int16: return 2
            case .uint32, .int32, .float32: return 4
            case .uint64, .int64, .float64, .string: return 8
            case .array: return 12
            }
        }
    }

    /// Any integer type as Int (nil when it does not fit or is not an integer).
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    public var float: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return int.map(Double.init)
        }
    }

    public var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var array: [GGUFValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// A short rendering for listings; long arrays are summarised.
    public var summary: String {
        switch self {
        // By Unicode scalars, not Characters: one "character" of a hostile string can hold
        // millions of combining marks, and counting Characters walks the whole string.
        case .string(let s):
            let head = Array(s.unicodeScalars.prefix(81))
            if head.count <= 80 { return s }
            var short = String.UnicodeScalarView()
            short.append(contentsOf: head.prefix(77))
            return String(short) + "..."
        case .array(let a):
            if a.count > 8 { return "[\(a.count) items]" }
            return "[" + a.map(\.summary).joined(separator: ", ") + "]"
        case .bool(let b): return String(b)
        case .float32(let f): return String(f)
        case .float64(let f): return String(f)
        default: return String(int ?? 0)
        }
    }
}
