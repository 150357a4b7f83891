// libFuzzer entry point for ChorusWire, built by scripts/fuzz together with the ChorusWire
// sources into one module (so `internal` API is visible and no package build is needed).
//
// Properties checked on every input, each a trap (which libFuzzer reports as a crash) if broken:
// 1. decoding never traps, whatever the bytes (the sanitizer also catches any out-of-bounds read);
// 2. a frame that decodes re-encodes to exactly the same bytes (encodings are canonical);
// 3. the header parser agrees with the full decoder about the frame's type and length;
// 4. the same bytes under the UDP limit decode to the same result or an `oversized` error.

@_cdecl("LLVMFuzzerTestOneInput")
public func wireFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let decoded: Result<Message, WireError>
    do throws(WireError) {
        decoded = .success(try WireCodec.decode(frame: input))
    } catch {
        decoded = .failure(error)
    }

    if case let .success(message) = decoded {
        let encoded = WireCodec.encode(message)
        guard encoded.elementsEqual(input) else {
            fatalError("non-canonical frame: \(Array(input)) re-encodes as \(encoded)")
        }
        let header: FrameHeader
        do throws(WireError) {
            header = try FrameHeader.parse(input, maxPayload: WireLimits.maxFramePayload)
        } catch {
            fatalError("frame decodes but its header does not parse: \(error)")
        }
        guard header.type == message.type, header.frameLength == size else {
            fatalError("header \(header) disagrees with decoded \(message.type) of \(size) bytes")
        }
    }

    do throws(WireError) {
        let small = try WireCodec.decode(frame: input, maxPayload: WireLimits.maxUDPPacket)
        guard case .success(small) = decoded else {
            fatalError("decodes under the UDP limit but not under the frame limit")
        }
    } catch {
        switch (error, decoded) {
        case (.oversized, _): break
        case (_, .failure(let original)) where original == error: break
        default: fatalError("UDP-limit decode threw \(error), frame-limit decode gave \(decoded)")
        }
    }
    return 0
}
