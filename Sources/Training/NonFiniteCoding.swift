/// How the metrics records write numbers JSON has no literal for. A finite value is written as
/// is; NaN, +∞ and −∞ are written as `null` and named in the record's `non_finite` object with
/// `"nan"`, `"inf"` or `"-inf"`:
///
///     {"type":"step","step":4,"train_loss":null,"non_finite":{"train_loss":"nan"},"skipped":true,…}
///
/// A record without non-finite values has no `non_finite` key. Any JSON reader parses the
/// records; the Swift types decode them back to the same values (NaN, ±∞ included).
enum NonFiniteCoding {
    /// The key of the object naming the non-finite fields.
    static let flagsKey = "non_finite"

    static func name(of value: Double) -> String {
        value.isNaN ? "nan" : value > 0 ? "inf" : "-inf"
    }

    static func value(named name: String) -> Double? {
        switch name {
        case "nan": .nan
        case "inf": .infinity
        case "-inf": -.infinity
        default: nil
        }
    }
}

/// Encodes one record's fields, writing non-finite `Double`s as `null` plus a `non_finite` entry.
struct NonFiniteEncoder<Key: CodingKey> {
    private var container: KeyedEncodingContainer<Key>
    private var flags: [String: String] = [:]

    init(_ encoder: any Encoder, keyedBy: Key.Type) {
        container = encoder.container(keyedBy: Key.self)
    }

    mutating func encode(_ value: Double, forKey key: Key) throws {
        if value.isFinite {
            try container.encode(value, forKey: key)
        } else {
            try container.encodeNil(forKey: key)
            flags[key.stringValue] = NonFiniteCoding.name(of: value)
        }
    }

    /// Absent values are left out, as the synthesized encoding does.
    mutating func encodeIfPresent(_ value: Double?, forKey key: Key) throws {
        if let value { try encode(value, forKey: key) }
    }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try container.encode(value, forKey: key)
    }

    /// Writes the `non_finite` object, if any value needed it. Call last.
    mutating func finish(flagsKey: Key) throws {
        if !flags.isEmpty { try container.encode(flags, forKey: flagsKey) }
    }
}

/// Decodes what `NonFiniteEncoder` wrote.
struct NonFiniteDecoder<Key: CodingKey> {
    let container: KeyedDecodingContainer<Key>
    private let flags: [String: String]

    init(_ decoder: any Decoder, keyedBy: Key.Type, flagsKey: Key) throws {
        container = try decoder.container(keyedBy: Key.self)
        flags = try container.decodeIfPresent([String: String].self, forKey: flagsKey) ?? [:]
    }

    func decode(_: Double.Type, forKey key: Key) throws -> Double {
        guard let value = try decodeIfPresent(Double.self, forKey: key) else {
            throw DecodingError.valueNotFound(Double.self, .init(codingPath: container.codingPath + [key],
                                                                 debugDescription: "null without a non_finite entry"))
        }
        return value
    }

    /// `nil` when the key is absent, or `null` without a `non_finite` entry.
    func decodeIfPresent(_: Double.Type, forKey key: Key) throws -> Double? {
        guard container.contains(key) else { return nil }
        if try container.decodeNil(forKey: key) {
            guard let name = flags[key.stringValue] else { return nil }
            guard let value = NonFiniteCoding.value(named: name) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container,
                                                       debugDescription: "non_finite value '\(name)' is not nan, inf or -inf")
            }
            return value
        }
        return try container.decode(Double.self, forKey: key)
    }

    func decode<T: Decodable>(_: T.Type, forKey key: Key) throws -> T {
        try container.decode(T.self, forKey: key)
    }
}
