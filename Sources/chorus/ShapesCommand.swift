import Chorus
import ChorusAdmin

/// `chorus shapes add STACK --shape JSON`: `POST /v1/shapes/{stack}`.
struct ShapesAddCommand: StoresCommand {
    static let words = ["shapes", "add"]
    static let summary = "Add a shape to a stack, or find it there (POST /v1/shapes/{stack})."
    static let help = """
        Usage: chorus shapes add STACK --shape JSON [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Adds the shape, a JSON object, to STACK, or finds it there: objects that differ only in
        key order, spacing or the spelling of numbers and strings are one shape (its canonical
        JSON). Prints `HANDLE added (lsn LSN)`, or `HANDLE (already there)`.

        Options:
          --shape JSON         the shape, a JSON object (e.g. '{"table":"items"}')
        \(storeOptionsHelp)
        """
    static let positionals = ["STACK"]
    static let options = storeOptions + [.value("shape")]

    let target: AdminTarget
    let json: Bool
    let stack: String
    let shape: JSONValue

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        stack = arguments.positional[0]
        let text = try arguments.required("shape", "JSON")
        do {
            shape = try JSONParser.parse(text)
        } catch {
            throw UsageError("--shape must be a JSON object: \(error)")
        }
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("POST", "/v1/shapes/\(segment(stack))", body: ["shape": shape]) else { return }
        let answer = try expect(ShapeAddResponse(json: value), value)
        print(answer.lsn == nil ? "\(answer.handle) (already there)" : "\(answer.handle) added\(lsnNote(answer.lsn))")
    }
}

/// `chorus shapes list STACK`: `GET /v1/shapes/{stack}`.
struct ShapesListCommand: StoresCommand {
    static let words = ["shapes", "list"]
    static let summary = "List the shapes of a stack (GET /v1/shapes/{stack})."
    static let help = """
        Usage: chorus shapes list STACK [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Prints the shapes of STACK, sorted by handle, one row each: HANDLE, LATEST_OFFSET and
        SHAPE (its canonical JSON, cut when long).

        Options:
        \(storeOptionsHelp)
        """
    static let positionals = ["STACK"]
    static let options = storeOptions

    let target: AdminTarget
    let json: Bool
    let stack: String

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        stack = arguments.positional[0]
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("GET", "/v1/shapes/\(segment(stack))") else { return }
        let list = try expect(ShapeListResponse(json: value), value)
        print(textTable([["HANDLE", "LATEST_OFFSET", "SHAPE"]]
                        + list.shapes.map { [$0.handle, $0.latestOffset, shapeCell($0.shape)] }), terminator: "")
    }
}

/// A shape in one table cell: its compact JSON (a string shape as its text), cut when long.
func shapeCell(_ shape: JSONValue) -> String {
    GroupsCommand.cell(shape.stringValue ?? CanonicalJSON.text(shape))
}

/// `STACK HANDLE`, the shape a command is about.
struct ShapeArguments {
    static let positionals = ["STACK", "HANDLE"]

    let stack: String
    let handle: String

    init(_ arguments: Arguments) {
        stack = arguments.positional[0]
        handle = arguments.positional[1]
    }

    var path: String { "/v1/shapes/\(segment(stack))/\(segment(handle))" }
}

/// `chorus shapes get STACK HANDLE`: `GET /v1/shapes/{stack}/{handle}`.
struct ShapesGetCommand: StoresCommand {
    static let words = ["shapes", "get"]
    static let summary = "Show one shape and its fields (GET /v1/shapes/{stack}/{handle})."
    static let help = """
        Usage: chorus shapes get STACK HANDLE [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Prints the shape as HANDLE, LATEST_OFFSET, SNAPSHOT_XMIN (- while unset), STARTED (yes
        or no) and SHAPE. Exits 1 when the stack holds no shape with HANDLE (unknown_shape).

        Options:
        \(storeOptionsHelp)
        """
    static let positionals = ShapeArguments.positionals
    static let options = storeOptions

    let target: AdminTarget
    let json: Bool
    let shape: ShapeArguments

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        shape = ShapeArguments(arguments)
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("GET", shape.path) else { return }
        let answer = try expect(ShapeResponse(json: value), value)
        print(textTable([["HANDLE", "LATEST_OFFSET", "SNAPSHOT_XMIN", "STARTED", "SHAPE"],
                         [answer.handle, answer.latestOffset, answer.snapshotXmin.map { "\($0)" } ?? "-",
                          answer.snapshotStarted ? "yes" : "no", shapeCell(answer.shape)]]), terminator: "")
    }
}

/// `chorus shapes remove STACK HANDLE`: `DELETE /v1/shapes/{stack}/{handle}`.
struct ShapesRemoveCommand: StoresCommand {
    static let words = ["shapes", "remove"]
    static let summary = "Remove a shape and its fields (DELETE /v1/shapes/{stack}/{handle})."
    static let help = """
        Usage: chorus shapes remove STACK HANDLE [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Removes the shape. Prints `removed HANDLE (lsn LSN)`. Exits 1 when the stack holds no
        shape with HANDLE (unknown_shape).

        Options:
        \(storeOptionsHelp)
        """
    static let positionals = ShapeArguments.positionals
    static let options = storeOptions

    let target: AdminTarget
    let json: Bool
    let shape: ShapeArguments

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        shape = ShapeArguments(arguments)
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("DELETE", shape.path) else { return }
        let answer = try expect(LSNResponse(json: value), value)
        print("removed \(shape.handle)\(lsnNote(answer.lsn))")
    }
}

/// `chorus shapes set-offset STACK HANDLE --offset TX_OP`: `PUT .../latest_offset`.
struct ShapesSetOffsetCommand: StoresCommand {
    static let words = ["shapes", "set-offset"]
    static let summary = "Move a shape's latest offset forward (PUT /v1/shapes/{stack}/{handle}/latest_offset)."
    static let help = """
        Usage: chorus shapes set-offset STACK HANDLE --offset TX_OP [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Moves the shape's latest offset to TX_OP (`<tx>_<op>` in decimal, e.g. 12_3), never back:
        prints the offset now held, `latest offset TX_OP (lsn LSN)`, or `latest offset TX_OP,
        unchanged` when it was held already or a later one was. Exits 1 for an unknown handle.

        Options:
          --offset TX_OP       the offset
        \(storeOptionsHelp)
        """
    static let positionals = ShapeArguments.positionals
    static let options = storeOptions + [.value("offset")]

    let target: AdminTarget
    let json: Bool
    let shape: ShapeArguments
    let offset: String

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        shape = ShapeArguments(arguments)
        offset = try arguments.required("offset", "TX_OP")
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("PUT", shape.path + "/latest_offset", body: ["offset": .string(offset)]) else { return }
        let answer = try expect(LatestOffsetResponse(json: value), value)
        print("latest offset \(answer.latestOffset)" + (answer.lsn == nil ? ", unchanged" : lsnNote(answer.lsn)))
    }
}

/// `chorus shapes set-xmin STACK HANDLE --xmin N`: `PUT .../snapshot_xmin`.
struct ShapesSetXminCommand: StoresCommand {
    static let words = ["shapes", "set-xmin"]
    static let summary = "Set a shape's snapshot xmin, once (PUT /v1/shapes/{stack}/{handle}/snapshot_xmin)."
    static let help = """
        Usage: chorus shapes set-xmin STACK HANDLE --xmin N [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Sets the shape's snapshot xmin. It is set once: prints `snapshot xmin N (lsn LSN)`, or
        `snapshot xmin N, unchanged` when it held N already, or `snapshot xmin K kept, N ignored`
        when it held another value K (not an error). Exits 1 for an unknown handle.

        Options:
          --xmin N             the xmin, a whole number
        \(storeOptionsHelp)
        """
    static let positionals = ShapeArguments.positionals
    static let options = storeOptions + [.value("xmin")]

    let target: AdminTarget
    let json: Bool
    let shape: ShapeArguments
    let xmin: Int64

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        shape = ShapeArguments(arguments)
        let text = try arguments.required("xmin", "N")
        guard let xmin = Int64(text) else { throw UsageError("--xmin must be a whole number, not \"\(text)\"") }
        self.xmin = xmin
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("PUT", shape.path + "/snapshot_xmin", body: ["xmin": .integer(xmin)]) else { return }
        let answer = try expect(SnapshotXminResponse(json: value), value)
        if answer.ignored {
            print("snapshot xmin \(answer.snapshotXmin) kept, \(xmin) ignored")
        } else {
            print("snapshot xmin \(answer.snapshotXmin)" + (answer.lsn == nil ? ", unchanged" : lsnNote(answer.lsn)))
        }
    }
}

/// `chorus shapes mark-started STACK HANDLE`: `POST .../snapshot_started`.
struct ShapesMarkStartedCommand: StoresCommand {
    static let words = ["shapes", "mark-started"]
    static let summary = "Record that a shape's snapshot started (POST /v1/shapes/{stack}/{handle}/snapshot_started)."
    static let help = """
        Usage: chorus shapes mark-started STACK HANDLE [--json] (--admin HOST:PORT | --config FILE --node NAME)

        Records that the shape's snapshot started. Prints `snapshot started (lsn LSN)`, or
        `snapshot started already`. Exits 1 for an unknown handle.

        Options:
        \(storeOptionsHelp)
        """
    static let positionals = ShapeArguments.positionals
    static let options = storeOptions

    let target: AdminTarget
    let json: Bool
    let shape: ShapeArguments

    init(_ arguments: Arguments) throws(UsageError) {
        target = try AdminTarget(arguments)
        json = arguments.flag("json")
        shape = ShapeArguments(arguments)
    }

    func run() async throws(CommandFailure) {
        guard let value = try call("POST", shape.path + "/snapshot_started") else { return }
        let answer = try expect(LSNResponse(json: value), value)
        print(answer.lsn == nil ? "snapshot started already" : "snapshot started\(lsnNote(answer.lsn))")
    }
}
