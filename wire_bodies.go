package memberlist

// Map keys as they appear on the wire: a fixstr header and the Go field name.
const (
	msgpackKeyAddr         = "\xa4Addr"
	msgpackKeyAlgo         = "\xa4Algo"
	msgpackKeyBuf          = "\xa3Buf"
	msgpackKeyError        = "\xa5Error"
	msgpackKeyFrom         = "\xa4From"
	msgpackKeyIncarnation  = "\xabIncarnation"
	msgpackKeyJoin         = "\xa4Join"
	msgpackKeyMeta         = "\xa4Meta"
	msgpackKeyNack         = "\xa4Nack"
	msgpackKeyName         = "\xa4Name"
	msgpackKeyNode         = "\xa4Node"
	msgpackKeyNodes        = "\xa5Nodes"
	msgpackKeyPayload      = "\xa7Payload"
	msgpackKeyPort         = "\xa4Port"
	msgpackKeySeqNo        = "\xa5SeqNo"
	msgpackKeySourceAddr   = "\xaaSourceAddr"
	msgpackKeySourceNode   = "\xaaSourceNode"
	msgpackKeySourcePort   = "\xaaSourcePort"
	msgpackKeyState        = "\xa5State"
	msgpackKeyTarget       = "\xa6Target"
	msgpackKeyUserMsgLen   = "\xaaUserMsgLen"
	msgpackKeyUserStateLen = "\xacUserStateLen"
	msgpackKeyVsn          = "\xa3Vsn"
)

// Each decodeMsgpack below follows one pattern: reset the receiver, then for
// each field structNext finds, decode it by declaration index. The index
// functions map a key to that index.

// ---------------------------------------------------------------- ping

// msgpackSourceEntries counts the omitempty Source* fields that are set.
func msgpackSourceEntries(addr []byte, node string, port uint16) byte {
	return msgpackBoolByte(len(addr) > 0) + msgpackBoolByte(node != "") + msgpackBoolByte(port != 0)
}

// msgpackSourceLen reports the encoded size of the set Source* fields.
func msgpackSourceLen(addr []byte, node string, port uint16) int {
	n := 0
	if len(addr) > 0 {
		n += len(msgpackKeySourceAddr) + msgpackStrLen(len(addr))
	}
	if node != "" {
		n += len(msgpackKeySourceNode) + msgpackStrLen(len(node))
	}
	if port != 0 {
		n += len(msgpackKeySourcePort) + msgpackUintLen(uint64(port))
	}
	return n
}

// msgpackAppendSource appends the set Source* fields in key order.
func msgpackAppendSource(dst []byte, addr []byte, node string, port uint16) []byte {
	if len(addr) > 0 {
		dst = msgpackAppendBytes(append(dst, msgpackKeySourceAddr...), addr)
	}
	if node != "" {
		dst = msgpackAppendString(append(dst, msgpackKeySourceNode...), node)
	}
	if port != 0 {
		dst = msgpackAppendUint(append(dst, msgpackKeySourcePort...), uint64(port))
	}
	return dst
}

func (m *ping) msgpackLen() int {
	return 1 + len(msgpackKeyNode) + msgpackStrLen(len(m.Node)) +
		len(msgpackKeySeqNo) + msgpackUintLen(uint64(m.SeqNo)) +
		msgpackSourceLen(m.SourceAddr, m.SourceNode, m.SourcePort)
}

func (m *ping) appendMsgpack(dst []byte) []byte {
	dst = append(dst, msgpackFixMap|(2+msgpackSourceEntries(m.SourceAddr, m.SourceNode, m.SourcePort)))
	dst = msgpackAppendString(append(dst, msgpackKeyNode...), m.Node)
	dst = msgpackAppendUint(append(dst, msgpackKeySeqNo...), uint64(m.SeqNo))
	return msgpackAppendSource(dst, m.SourceAddr, m.SourceNode, m.SourcePort)
}

func pingFieldIndex(key []byte) int {
	switch string(key) {
	case "SeqNo":
		return 0
	case "Node":
		return 1
	case "SourceAddr":
		return 2
	case "SourcePort":
		return 3
	case "SourceNode":
		return 4
	}
	return -1
}

func (m *ping) decodeMsgpack(d *wireDecoder) error {
	*m = ping{}
	s, err := d.structStart()
	for err == nil {
		var f int
		var bd byte
		if f, bd, err = d.structNext(&s, 5, pingFieldIndex); f < 0 {
			break
		}
		switch f {
		case 0:
			err = msgpackDecodeUint(d, bd, &m.SeqNo)
		case 1:
			err = d.decodeString(bd, &m.Node)
		case 2:
			err = d.decodeBytes(bd, &m.SourceAddr)
		case 3:
			err = msgpackDecodeUint(d, bd, &m.SourcePort)
		case 4:
			err = d.decodeString(bd, &m.SourceNode)
		}
	}
	return err
}

// ---------------------------------------------------------------- indirectPingReq

func (m *indirectPingReq) msgpackLen() int {
	return 1 + len(msgpackKeyNack) + 1 +
		len(msgpackKeyNode) + msgpackStrLen(len(m.Node)) +
		len(msgpackKeyPort) + msgpackUintLen(uint64(m.Port)) +
		len(msgpackKeySeqNo) + msgpackUintLen(uint64(m.SeqNo)) +
		msgpackSourceLen(m.SourceAddr, m.SourceNode, m.SourcePort) +
		len(msgpackKeyTarget) + msgpackBytesLen(m.Target)
}

func (m *indirectPingReq) appendMsgpack(dst []byte) []byte {
	dst = append(dst, msgpackFixMap|(5+msgpackSourceEntries(m.SourceAddr, m.SourceNode, m.SourcePort)))
	dst = msgpackAppendBool(append(dst, msgpackKeyNack...), m.Nack)
	dst = msgpackAppendString(append(dst, msgpackKeyNode...), m.Node)
	dst = msgpackAppendUint(append(dst, msgpackKeyPort...), uint64(m.Port))
	dst = msgpackAppendUint(append(dst, msgpackKeySeqNo...), uint64(m.SeqNo))
	dst = msgpackAppendSource(dst, m.SourceAddr, m.SourceNode, m.SourcePort)
	return msgpackAppendBytes(append(dst, msgpackKeyTarget...), m.Target)
}

func indirectPingFieldIndex(key []byte) int {
	switch string(key) {
	case "SeqNo":
		return 0
	case "Target":
		return 1
	case "Port":
		return 2
	case "Node":
		return 3
	case "Nack":
		return 4
	case "SourceAddr":
		return 5
	case "SourcePort":
		return 6
	case "SourceNode":
		return 7
	}
	return -1
}

func (m *indirectPingReq) decodeMsgpack(d *wireDecoder) error {
	*m = indirectPingReq{}
	s, err := d.structStart()
	for err == nil {
		var f int
		var bd byte
		if f, bd, err = d.structNext(&s, 8, indirectPingFieldIndex); f < 0 {
			break
		}
		switch f {
		case 0:
			err = msgpackDecodeUint(d, bd, &m.SeqNo)
		case 1:
			err = d.decodeBytes(bd, &m.Target)
		case 2:
			err = msgpackDecodeUint(d, bd, &m.Port)
		case 3:
			err = d.decodeString(bd, &m.Node)
		case 4:
			err = d.decodeBool(bd, &m.Nack)
		case 5:
			err = d.decodeBytes(bd, &m.SourceAddr)
		case 6:
			err = msgpackDecodeUint(d, bd, &m.SourcePort)
		case 7:
			err = d.decodeString(bd, &m.SourceNode)
		}
	}
	return err
}

// ---------------------------------------------------------------- ackResp, nackResp, errResp

func (m *ackResp) msgpackLen() int {
	return 1 + len(msgpackKeyPayload) + msgpackBytesLen(m.Payload) +
		len(msgpackKeySeqNo) + msgpackUintLen(uint64(m.SeqNo))
}

func (m *ackResp) appendMsgpack(dst []byte) []byte {
	dst = append(dst, msgpackFixMap|2)
	dst = msgpackAppendBytes(append(dst, msgpackKeyPayload...), m.Payload)
	return msgpackAppendUint(append(dst, msgpackKeySeqNo...), uint64(m.SeqNo))
}

func ackRespFieldIndex(key []byte) int {
	switch string(key) {
	case "SeqNo":
		return 0
	case "Payload":
		return 1
	}
	return -1
}

func (m *ackResp) decodeMsgpack(d *wireDecoder) error {
	*m = ackResp{}
	s, err := d.structStart()
	for err == nil {
		var f int
		var bd byte
		if f, bd, err = d.structNext(&s, 2, ackRespFieldIndex); f < 0 {
			break
		}
		switch f {
		case 0:
			err = msgpackDecodeUint(d, bd, &m.SeqNo)
		case 1:
			err = d.decodeBytes(bd, &m.Payload)
		}
	}
	return err
}

func (m *nackResp) msgpackLen() int {
	return 1 + len(msgpackKeySeqNo) + msgpackUintLen(uint64(m.SeqNo))
}

func (m *nackResp) appendMsgpack(dst []byte) []byte {
	return msgpackAppendUint(append(append(dst, msgpackFixMap|1), msgpackKeySeqNo...), uint64(m.SeqNo))
}

func nackRespFieldIndex(key []byte) int {
	if string(key) == "SeqNo" {
		return 0
	}
	return -1
}

func (m *nackResp) decodeMsgpack(d *wireDecoder) error {
	*m = nackResp{}
	s, err := d.structStart()
	for err == nil {
		var f int
		var bd byte
		if f, bd, err = d.structNext(&s, 1, nackRespFieldIndex); f < 0 {
			break
		}
		err = msgpackDecodeUint(d, bd, &m.SeqNo)
	}
	return err
}

func (m *errResp) msgpackLen() int {
	return 1 + len(msgpackKeyError) + msgpackStrLen(len(m.Error))
}

func (m *errResp) appendMsgpack(dst []byte) []byte {
	return msgpackAppendString(append(append(dst, msgpackFixMap|1), msgpackKeyError...), m.Error)
}

func errRespFieldIndex(key []byte) int {
	if string(key) == "Error" {
		return 0
	}
	return -1
}

func (m *errResp) decodeMsgpack(d *wireDecoder) error {
	*m = errResp{}
	s, err := d.structStart()
	for err == nil {
		var f int
		var bd byte
		if f, bd, err = d.structNext(&s, 1, errRespFieldIndex); f < 0 {
			break
		}
		err = d.decodeString(bd, &m.Error)
	}
	return err
}

// ---------------------------------------------------------------- suspect, dead

// suspect and dead share a layout: Incarnation, Node, From.

func msgpackIncNodeFromLen(inc uint32, node, from string) int {
	return 1 + len(msgpackKeyFrom) + msgpackStrLen(len(from)) +
		len(msgpackKeyIncarnation) + msgpackUintLen(uint64(inc)) +
		len(msgpackKeyNode) + msgpackStrLen(len(node))
}

func msgpackAppendIncNodeFrom(dst []byte, inc uint32, node, from string) []byte {
	dst = append(dst, msgpackFixMap|3)
	dst = msgpackAppendString(append(dst, msgpackKeyFrom...), from)
	dst = msgpackAppendUint(append(dst, msgpackKeyIncarnation...), uint64(inc))
	return msgpackAppendString(append(dst, msgpackKeyNode...), node)
}

func incNodeFromFieldIndex(key []byte) int {
	switch string(key) {
	case "Incarnation":
		return 0
	case "Node":
		return 1
	case "From":
		return 2
	}
	return -1
}

// msgpackDecodeIncNodeFrom decodes the shared suspect/dead layout.
func msgpackDecodeIncNodeFrom(d *wireDecoder, inc *uint32, node, from *string) error {
	s, err := d.structStart()
	for err == nil {
		var f int
		var bd byte
		if f, bd, err = d.structNext(&s, 3, incNodeFromFieldIndex); f < 0 {
			break
		}
		switch f {
		case 0:
			err = msgpackDecodeUint(d, bd, inc)
		case 1:
			err = d.decodeString(bd, node)
		case 2:
			err = d.decodeString(bd, from)
		}
	}
	return err
}

func (m *suspect) msgpackLen() int {
	return msgpackIncNodeFromLen(m.Incarnation, m.Node, m.From)
}

func (m *suspect) appendMsgpack(dst []byte) []byte {
	return msgpackAppendIncNodeFrom(dst, m.Incarnation, m.Node, m.From)
}

func (m *suspect) decodeMsgpack(d *wireDecoder) error {
	*m = suspect{}
	return msgpackDecodeIncNodeFrom(d, &m.Incarnation, &m.Node, &m.From)
}

func (m *dead) msgpackLen() int {
	return msgpackIncNodeFromLen(m.Incarnation, m.Node, m.From)
}

func (m *dead) appendMsgpack(dst []byte) []byte {
	return msgpackAppendIncNodeFrom(dst, m.Incarnation, m.Node, m.From)
}

func (m *dead) decodeMsgpack(d *wireDecoder) error {
	*m = dead{}
	return msgpackDecodeIncNodeFrom(d, &m.Incarnation, &m.Node, &m.From)
}

// ---------------------------------------------------------------- alive

func (m *alive) msgpackLen() int {
	return 1 + len(msgpackKeyAddr) + msgpackBytesLen(m.Addr) +
		len(msgpackKeyIncarnation) + msgpackUintLen(uint64(m.Incarnation)) +
		len(msgpackKeyMeta) + msgpackBytesLen(m.Meta) +
		len(msgpackKeyNode) + msgpackStrLen(len(m.Node)) +
		len(msgpackKeyPort) + msgpackUintLen(uint64(m.Port)) +
		len(msgpackKeyVsn) + msgpackBytesLen(m.Vsn)
}

func (m *alive) appendMsgpack(dst []byte) []byte {
	dst = append(dst, msgpackFixMap|6)
	dst = msgpackAppendBytes(append(dst, msgpackKeyAddr...), m.Addr)
	dst = msgpackAppendUint(append(dst, msgpackKeyIncarnation...), uint64(m.Incarnation))
	dst = msgpackAppendBytes(append(dst, msgpackKeyMeta...), m.Meta)
	dst = msgpackAppendString(append(dst, msgpackKeyNode...), m.Node)
	dst = msgpackAppendUint(append(dst, msgpackKeyPort...), uint64(m.Port))
	return msgpackAppendBytes(append(dst, msgpackKeyVsn...), m.Vsn)
}

func aliveFieldIndex(key []byte) int {
	switch string(key) {
	case "Incarnation":
		return 0
	case "Node":
		return 1
	case "Addr":
		return 2
	case "Port":
		return 3
	case "Meta":
		return 4
	case "Vsn":
		return 5
	}
	return -1
}

func (m *alive) decodeMsgpack(d *wireDecoder) error {
	*m = alive{}
	s, err := d.structStart()
	for err == nil {
		var f int
		var bd byte
		if f, bd, err = d.structNext(&s, 6, aliveFieldIndex); f < 0 {
			break
		}
		switch f {
		case 0:
			err = msgpackDecodeUint(d, bd, &m.Incarnation)
		case 1:
			err = d.decodeString(bd, &m.Node)
		case 2:
			err = d.decodeBytes(bd, &m.Addr)
		case 3:
			err = msgpackDecodeUint(d, bd, &m.Port)
		case 4:
			err = d.decodeBytes(bd, &m.Meta)
		case 5:
			err = d.decodeBytes(bd, &m.Vsn)
		}
	}
	return err
}

// ---------------------------------------------------------------- pushPullHeader, userMsgHeader

func (m *pushPullHeader) msgpackLen() int {
	return 1 + len(msgpackKeyJoin) + 1 +
		len(msgpackKeyNodes) + msgpackIntLen(int64(m.Nodes)) +
		len(msgpackKeyUserStateLen) + msgpackIntLen(int64(m.UserStateLen))
}

func (m *pushPullHeader) appendMsgpack(dst []byte) []byte {
	dst = append(dst, msgpackFixMap|3)
	dst = msgpackAppendBool(append(dst, msgpackKeyJoin...), m.Join)
	dst = msgpackAppendInt(append(dst, msgpackKeyNodes...), int64(m.Nodes))
	return msgpackAppendInt(append(dst, msgpackKeyUserStateLen...), int64(m.UserStateLen))
}

func pushPullHeaderFieldIndex(key []byte) int {
	switch string(key) {
	case "Nodes":
		return 0
	case "UserStateLen":
		return 1
	case "Join":
		return 2
	}
	return -1
}

func (m *pushPullHeader) decodeMsgpack(d *wireDecoder) error {
	*m = pushPullHeader{}
	s, err := d.structStart()
	for err == nil {
		var f int
		var bd byte
		if f, bd, err = d.structNext(&s, 3, pushPullHeaderFieldIndex); f < 0 {
			break
		}
		switch f {
		case 0:
			err = msgpackDecodeInt(d, bd, &m.Nodes)
		case 1:
			err = msgpackDecodeInt(d, bd, &m.UserStateLen)
		case 2:
			err = d.decodeBool(bd, &m.Join)
		}
	}
	return err
}

func (m *userMsgHeader) msgpackLen() int {
	return 1 + len(msgpackKeyUserMsgLen) + msgpackIntLen(int64(m.UserMsgLen))
}

func (m *userMsgHeader) appendMsgpack(dst []byte) []byte {
	return msgpackAppendInt(append(append(dst, msgpackFixMap|1), msgpackKeyUserMsgLen...), int64(m.UserMsgLen))
}

func userMsgHeaderFieldIndex(key []byte) int {
	if string(key) == "UserMsgLen" {
		return 0
	}
	return -1
}

func (m *userMsgHeader) decodeMsgpack(d *wireDecoder) error {
	*m = userMsgHeader{}
	s, err := d.structStart()
	for err == nil {
		var f int
		var bd byte
		if f, bd, err = d.structNext(&s, 1, userMsgHeaderFieldIndex); f < 0 {
			break
		}
		err = msgpackDecodeInt(d, bd, &m.UserMsgLen)
	}
	return err
}

// ---------------------------------------------------------------- pushNodeState

func (m *pushNodeState) msgpackLen() int {
	return 1 + len(msgpackKeyAddr) + msgpackBytesLen(m.Addr) +
		len(msgpackKeyIncarnation) + msgpackUintLen(uint64(m.Incarnation)) +
		len(msgpackKeyMeta) + msgpackBytesLen(m.Meta) +
		len(msgpackKeyName) + msgpackStrLen(len(m.Name)) +
		len(msgpackKeyPort) + msgpackUintLen(uint64(m.Port)) +
		len(msgpackKeyState) + msgpackIntLen(int64(m.State)) +
		len(msgpackKeyVsn) + msgpackBytesLen(m.Vsn)
}

func (m *pushNodeState) appendMsgpack(dst []byte) []byte {
	dst = append(dst, msgpackFixMap|7)
	dst = msgpackAppendBytes(append(dst, msgpackKeyAddr...), m.Addr)
	dst = msgpackAppendUint(append(dst, msgpackKeyIncarnation...), uint64(m.Incarnation))
	dst = msgpackAppendBytes(append(dst, msgpackKeyMeta...), m.Meta)
	dst = msgpackAppendString(append(dst, msgpackKeyName...), m.Name)
	dst = msgpackAppendUint(append(dst, msgpackKeyPort...), uint64(m.Port))
	dst = msgpackAppendInt(append(dst, msgpackKeyState...), int64(m.State))
	return msgpackAppendBytes(append(dst, msgpackKeyVsn...), m.Vsn)
}

func pushNodeStateFieldIndex(key []byte) int {
	switch string(key) {
	case "Name":
		return 0
	case "Addr":
		return 1
	case "Port":
		return 2
	case "Meta":
		return 3
	case "Incarnation":
		return 4
	case "State":
		return 5
	case "Vsn":
		return 6
	}
	return -1
}

func (m *pushNodeState) decodeMsgpack(d *wireDecoder) error {
	*m = pushNodeState{}
	s, err := d.structStart()
	for err == nil {
		var f int
		var bd byte
		if f, bd, err = d.structNext(&s, 7, pushNodeStateFieldIndex); f < 0 {
			break
		}
		switch f {
		case 0:
			err = d.decodeString(bd, &m.Name)
		case 1:
			err = d.decodeBytes(bd, &m.Addr)
		case 2:
			err = msgpackDecodeUint(d, bd, &m.Port)
		case 3:
			err = d.decodeBytes(bd, &m.Meta)
		case 4:
			err = msgpackDecodeUint(d, bd, &m.Incarnation)
		case 5:
			err = msgpackDecodeInt(d, bd, &m.State)
		case 6:
			err = d.decodeBytes(bd, &m.Vsn)
		}
	}
	return err
}

// ---------------------------------------------------------------- compress

func (m *compress) msgpackLen() int {
	return 1 + len(msgpackKeyAlgo) + msgpackUintLen(uint64(m.Algo)) +
		len(msgpackKeyBuf) + msgpackBytesLen(m.Buf)
}

func (m *compress) appendMsgpack(dst []byte) []byte {
	dst = append(dst, msgpackFixMap|2)
	dst = msgpackAppendUint(append(dst, msgpackKeyAlgo...), uint64(m.Algo))
	return msgpackAppendBytes(append(dst, msgpackKeyBuf...), m.Buf)
}

func compressFieldIndex(key []byte) int {
	switch string(key) {
	case "Algo":
		return 0
	case "Buf":
		return 1
	}
	return -1
}

func (m *compress) decodeMsgpack(d *wireDecoder) error {
	*m = compress{}
	s, err := d.structStart()
	for err == nil {
		var f int
		var bd byte
		if f, bd, err = d.structNext(&s, 2, compressFieldIndex); f < 0 {
			break
		}
		switch f {
		case 0:
			err = msgpackDecodeUint(d, bd, &m.Algo)
		case 1:
			err = d.decodeBytes(bd, &m.Buf)
		}
	}
	return err
}
