/// A place in the forward pass where activations can be read or changed, named as in
/// TransformerLens / SAELens so that SAEs trained elsewhere find their input.
public enum HookPoint: Hashable, Sendable, CustomStringConvertible {
    /// The residual stream entering block L.
    case residPre(Int)
    /// What block L's attention adds to the residual stream (after the output projection).
    case attnOut(Int)
    /// What block L's MLP adds to the residual stream (after the down projection).
    case mlpOut(Int)
    /// The residual stream leaving block L.
    case residPost(Int)

    public var layer: Int {
        switch self {
        case .residPre(let l), .attnOut(let l), .mlpOut(let l), .residPost(let l): return l
        }
    }

    public var name: String {
        switch self {
        case .residPre(let l): return "blocks.\(l).hook_resid_pre"
        case .attnOut(let l): return "blocks.\(l).hook_attn_out"
        case .mlpOut(let l): return "blocks.\(l).hook_mlp_out"
        case .residPost(let l): return "blocks.\(l).hook_resid_post"
        }
    }

    public var description: String { name }

    /// Parses `blocks.L.hook_resid_pre|hook_resid_post|hook_mlp_out|hook_attn_out`.
    public init?(name: String) {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "blocks", let l = Int(parts[1]), l >= 0 else { return nil }
        switch parts[2] {
        case "hook_resid_pre": self = .residPre(l)
        case "hook_attn_out": self = .attnOut(l)
        case "hook_mlp_out": self = .mlpOut(l)
        case "hook_resid_post": self = .residPost(l)
        default: return nil
        }
    }
}

/// Activations of one hook point for the tokens of one forward batch: `rows` tokens starting at
/// cache position `firstPosition`, `width` values each, row-major. Writable: a visitor that changes
/// them changes the rest of the forward pass (steering, clamping, noise).
public struct HookActivations {
    public let point: HookPoint
    public let values: UnsafeMutablePointer<Float>
    public let rows: Int
    public let width: Int
    public let firstPosition: Int

    public func row(_ t: Int) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: values + t * width, count: width)
    }
}

/// Visitors per hook point, called during the forward pass in block order. A model with no hooks
/// set pays one nil check per block.
public final class ActivationHooks: @unchecked Sendable {
    public typealias Visitor = (HookActivations) -> Void
    private var visitors: [HookPoint: [Visitor]] = [:]
    /// Blocks that have at least one visitor, so blocks without any skip the dictionary.
    private var layers: Set<Int> = []

    public init() {}

    public var isEmpty: Bool { visitors.isEmpty }
    public var points: [HookPoint] { Array(visitors.keys) }

    public func add(_ point: HookPoint, _ visitor: @escaping Visitor) {
        visitors[point, default: []].append(visitor)
        layers.insert(point.layer)
    }

    public func removeAll() {
        visitors.removeAll()
        layers.removeAll()
    }

    @inline(__always) func has(layer: Int) -> Bool { layers.contains(layer) }

    func visit(_ point: HookPoint, _ values: UnsafeMutablePointer<Float>, rows: Int, width: Int, firstPosition: Int) {
        guard let list = visitors[point] else { return }
        let a = HookActivations(point: point, values: values, rows: rows, width: width, firstPosition: firstPosition)
        for v in list { v(a) }
    }
}
