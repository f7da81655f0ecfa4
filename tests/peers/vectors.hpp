// Golden values from /work/shared/lorawan-vectors.md (ChirpStack's own test data, re-derived independently).
#pragma once

#include <cstdint>

namespace dance::peers::vectors {

// JoinReq LW10 (LoRaWAN 1.0.2, no KEK)
inline constexpr const char* kNwkKey = "01020304050607080102030405060708";
inline constexpr const char* kDevEui = "0102030405060708";
inline constexpr const char* kJoinEui = "0807060504030201";
inline constexpr uint16_t kDevNonce = 258;
inline constexpr uint32_t kStoredJoinNonce = 65535;  // the next one, 65536, is sent
inline constexpr uint32_t kSentJoinNonce = 65536;
inline constexpr const char* kNetId = "010203";
inline constexpr const char* kDevAddr = "01020304";
inline constexpr uint8_t kDlSettings10 = 0x15;
inline constexpr uint8_t kRxDelay = 1;
inline constexpr const char* kCfList = "988d8468958400000000000000000000";
inline constexpr const char* kJoinRequest = "00010203040506070808070605040302010201cde6acb8";
inline constexpr const char* kJoinAccept10 = "2026f4b247f0a5d7e46a720e61c8bccbc5179f4566e185ed6889589bb1a9c68cc0";
inline constexpr const char* kNwkSKey = "df53c35f3034ccced0ff354c70de04df";
inline constexpr const char* kAppSKey10 = "927b9c911183cffe4cb2ff4b75545f6d";

inline constexpr const char* kJoinReqV3 =
    R"({"ProtocolVersion":"1.0","SenderID":"010203","ReceiverID":"0807060504030201","TransactionID":1234,)"
    R"("MessageType":"JoinReq","VSExtension":{},"MACVersion":"1.0.2",)"
    R"("PHYPayload":"00010203040506070808070605040302010201cde6acb8",)"
    R"("DevEUI":"0102030405060708","DevAddr":"01020304","DLSettings":"15","RxDelay":1,)"
    R"("CFList":"988d8468958400000000000000000000"})";
inline constexpr const char* kJoinAnsV3 =
    R"({"ProtocolVersion":"1.0","SenderID":"0807060504030201","ReceiverID":"010203","TransactionID":1234,)"
    R"("MessageType":"JoinAns","VSExtension":{},"Result":{"ResultCode":"Success","Description":""},)"
    R"("PHYPayload":"2026f4b247f0a5d7e46a720e61c8bccbc5179f4566e185ed6889589bb1a9c68cc0",)"
    R"("NwkSKey":{"KEKLabel":"","AESKey":"df53c35f3034ccced0ff354c70de04df"},)"
    R"("AppSKey":{"KEKLabel":"","AESKey":"927b9c911183cffe4cb2ff4b75545f6d"}})";

// JoinReq LW11: same device and nonces, MACVersion 1.1.0, DLSettings 0x95 (OptNeg)
inline constexpr const char* kAppKey11 = "08070605040302010807060904030201";
inline constexpr uint8_t kDlSettings11 = 0x95;
inline constexpr const char* kJoinAccept11 = "20a4c899795a42f5d16067a822c21b379af8aaa301a90d1c60d4cb792cb8eeb0a3";
inline constexpr const char* kSNwkSIntKey = "589498993092cfdb5fd2e02ac7510bf1";
inline constexpr const char* kFNwkSIntKey = "537f8aae896c79e015d102d06286354e";
inline constexpr const char* kNwkSEncKey = "9898283c4f66eb6c6fd5165882046c40";
inline constexpr const char* kAppSKey11 = "1ceeb68807a915a4acd518b38b20ce03";

// RFC 3394 key wrap
inline constexpr const char* kKek = "08070605040302010807060504030201";
inline constexpr const char* kKeyToWrap = "01020304050607080102030405060708";
inline constexpr const char* kWrappedKey = "e3d5a47ba25cbe6e5da820846e0cb6a82b750c59d848ec7a";

}  // namespace dance::peers::vectors
