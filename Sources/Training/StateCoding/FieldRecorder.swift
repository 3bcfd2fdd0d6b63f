/// The fields of a keyed `Codable` value, in the order its `encode(to:)` writes them, one level
/// deep (a field's value is kept whole: a `Matrix` stays a `Matrix`), and the value rebuilt from
/// such fields by its `init(from:)`. The generic step between a typed optimizer state and its
/// checkpoint tensors (`StateTensorEncoder`, `StateTensorDecoder`).
struct StateFields {
    /// The field names (coding keys), in encoding order.
    private(set) var names: [String] = []
    /// The value of each field.
    var values: [String: Any] = [:]

    /// Records the fields `value.encode(to:)` writes.
    ///
    /// - Throws: `EncodingError.invalidValue` for a value that does not encode as one keyed
    ///   container of fields.
    init<T: Encodable>(of value: T) throws {
        let recorder = FieldRecorder()
        try value.encode(to: recorder)
        if let problem = recorder.storage.problem {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: problem))
        }
        names = recorder.storage.names
        values = recorder.storage.values
    }

    /// A `T` decoded from these fields by its `init(from:)`.
    ///
    /// - Throws: `DecodingError` when a field is missing or of another type.
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: FieldReplayer(values: values))
    }
}

/// Collects what the fields of a keyed container encode to.
private final class FieldStorage {
    var names: [String] = []
    var values: [String: Any] = [:]
    var problem: String?

    func record(_ value: Any, _ key: any CodingKey) {
        if values.updateValue(value, forKey: key.stringValue) == nil { names.append(key.stringValue) }
    }

    func refuse(_ what: String) { problem = problem ?? "a state is a struct of fields; it encoded \(what)" }
}

/// An `Encoder` that records the top-level keyed fields (see `StateFields`).
private struct FieldRecorder: Encoder {
    let storage = FieldStorage()
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Container<Key>(storage: storage))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        storage.refuse("an unkeyed container")
        return Refused(storage: storage)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        storage.refuse("a single value")
        return Refused(storage: storage)
    }

    /// Records every field whole.
    struct Container<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let storage: FieldStorage
        var codingPath: [any CodingKey] { [] }

        mutating func encodeNil(forKey key: Key) throws { storage.refuse("nil for \(key.stringValue)") }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: String, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: Float, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { storage.record(value, key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { storage.record(value, key) }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                            forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            storage.refuse("a nested container for \(key.stringValue)")
            return KeyedEncodingContainer(Container<NestedKey>(storage: FieldStorage()))
        }

        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            storage.refuse("a nested container for \(key.stringValue)")
            return Refused(storage: storage)
        }

        mutating func superEncoder() -> any Encoder {
            storage.refuse("a superclass")
            return FieldRecorder()
        }

        mutating func superEncoder(forKey key: Key) -> any Encoder {
            storage.refuse("a superclass for \(key.stringValue)")
            return FieldRecorder()
        }
    }

    /// What an unkeyed or single-value encoding gets: nothing is recorded, the value is refused.
    struct Refused: UnkeyedEncodingContainer, SingleValueEncodingContainer {
        let storage: FieldStorage
        var codingPath: [any CodingKey] { [] }
        var count: Int { 0 }

        mutating func encodeNil() throws { storage.refuse("nil") }
        mutating func encode<T: Encodable>(_ value: T) throws { storage.refuse("\(T.self) without a key") }
        mutating func encode(_ value: Bool) throws { storage.refuse("a Bool without a key") }
        mutating func encode(_ value: String) throws { storage.refuse("a String without a key") }
        mutating func encode(_ value: Double) throws { storage.refuse("a Double without a key") }
        mutating func encode(_ value: Float) throws { storage.refuse("a Float without a key") }
        mutating func encode(_ value: Int) throws { storage.refuse("an Int without a key") }
        mutating func encode(_ value: Int8) throws { storage.refuse("an Int8 without a key") }
        mutating func encode(_ value: Int16) throws { storage.refuse("an Int16 without a key") }
        mutating func encode(_ value: Int32) throws { storage.refuse("an Int32 without a key") }
        mutating func encode(_ value: Int64) throws { storage.refuse("an Int64 without a key") }
        mutating func encode(_ value: UInt) throws { storage.refuse("a UInt without a key") }
        mutating func encode(_ value: UInt8) throws { storage.refuse("a UInt8 without a key") }
        mutating func encode(_ value: UInt16) throws { storage.refuse("a UInt16 without a key") }
        mutating func encode(_ value: UInt32) throws { storage.refuse("a UInt32 without a key") }
        mutating func encode(_ value: UInt64) throws { storage.refuse("a UInt64 without a key") }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            KeyedEncodingContainer(Container<NestedKey>(storage: FieldStorage()))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { Refused(storage: storage) }
        mutating func superEncoder() -> any Encoder { FieldRecorder() }
    }
}

/// A `Decoder` that hands each keyed field its recorded value back (see `StateFields`).
private struct FieldReplayer: Decoder {
    let values: [String: Any]
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Container<Key>(values: values))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "a state is a struct of fields"))
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "a state is a struct of fields"))
    }

    struct Container<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let values: [String: Any]
        var codingPath: [any CodingKey] { [] }
        var allKeys: [Key] { values.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { values[key.stringValue] != nil }
        func decodeNil(forKey key: Key) throws -> Bool { values[key.stringValue] == nil }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            guard let value = values[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: [], debugDescription: "no field \(key.stringValue)"))
            }
            guard let typed = value as? T else {
                throw DecodingError.typeMismatch(T.self, .init(codingPath: [key], debugDescription:
                    "field \(key.stringValue) holds a \(Swift.type(of: value)), not a \(T.self)"))
            }
            return typed
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type,
                                                   forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw DecodingError.typeMismatch(type, .init(codingPath: [key], debugDescription: "fields are kept whole"))
        }

        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: [key], debugDescription: "fields are kept whole"))
        }

        func superDecoder() throws -> any Decoder { FieldReplayer(values: [:]) }
        func superDecoder(forKey key: Key) throws -> any Decoder { FieldReplayer(values: [:]) }
    }
}
