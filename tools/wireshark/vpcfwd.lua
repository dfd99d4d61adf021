-- vpcfwd.lua: a Wireshark dissector for vpcfwd's sync and learn datagrams (UDP 4806,
-- 4807) and a postdissector showing vpcfwd's learn bit in VXLAN frames (UDP 4789, which
-- Wireshark's own VXLAN dissector keeps decoding). docs/protocol.md draws every byte;
-- common/sync.c is the codec this follows, and every rule its decoder checks is checked
-- here too, as an expert error: a datagram the daemons would refuse shows as one.
-- The MAC is shown, not checked (that needs the host's key).
--
-- Use: tshark -X lua_script:tools/wireshark/vpcfwd.lua -r CAPTURE, or install it with
-- `make wireshark-install` (tools/wireshark/README.md).
--
-- Wireshark 4.0's Lua is 5.2: numbers are doubles, so u64 fields (timestamps,
-- versions) and varints are UInt64 objects.

local SYNC_MAGIC = 0x5653
local SYNC_VERSION = 4
local HDR_SIZE = 20
local NAME_MAX = 63
local NONCE_SIZE = 12
local MAC_SIZE = NONCE_SIZE + 16	-- nonce, then tag
local H_MAC = 0x01
local VNIS_MAX = 64
local SECTIONS_MAX = 64
local VTEPS_MAX = 255
local ITEM_SIZE = 28
local SEC_SIZE = 32
local CURSOR_SIZE = 12
local F_MORE = 0x01
local ENT_DEL, ENT_MAC_DEFAULT, ENT_VERSION = 0x01, 0x02, 0x04
local VNI_MAX = 0xffffff

local REQ, RESP, LEARN = 1, 2, 3
local OK = 1

local types = { [1] = "SYNC_REQ", [2] = "SYNC_RESP", [3] = "LEARN" }
local statuses = { [1] = "OK", [2] = "RELEARN", [3] = "RETRY", [4] = "UNKNOWN" }
local ops = { [1] = "SET", [2] = "DEL" }

local p = Proto("vpcfwd", "vpcfwd sync and learn")

local f = {
	magic = ProtoField.uint16("vpcfwd.magic", "Magic", base.HEX),
	version = ProtoField.uint8("vpcfwd.version", "Version"),
	type = ProtoField.uint8("vpcfwd.type", "Type", base.DEC, types),
	id = ProtoField.uint32("vpcfwd.id", "Request id", base.HEX),
	key_id = ProtoField.uint8("vpcfwd.key_id", "Key id"),
	flags = ProtoField.uint8("vpcfwd.flags", "Flags", base.HEX),
	flag_mac = ProtoField.bool("vpcfwd.flags.mac", "MAC", 8, nil, H_MAC),
	name_len = ProtoField.uint8("vpcfwd.name_len", "Name length"),
	pad = ProtoField.bytes("vpcfwd.pad", "Padding"),
	ts = ProtoField.absolute_time("vpcfwd.ts", "Timestamp", base.UTC),
	name = ProtoField.string("vpcfwd.name", "Host name"),
	mac = ProtoField.bytes("vpcfwd.mac", "MAC (AES-256-GMAC, not checked)"),
	mac_nonce = ProtoField.bytes("vpcfwd.mac.nonce", "Nonce"),
	mac_tag = ProtoField.bytes("vpcfwd.mac.tag", "Tag"),

	wait_ms = ProtoField.uint16("vpcfwd.req.wait_ms", "Wait (ms)"),
	req_count = ProtoField.uint8("vpcfwd.req.count", "Items"),
	item = ProtoField.none("vpcfwd.item", "Item"),
	item_vni = ProtoField.uint32("vpcfwd.item.vni", "VNI"),
	item_gen = ProtoField.uint32("vpcfwd.item.gen", "Generation", base.HEX),
	item_version = ProtoField.uint64("vpcfwd.item.version", "Version"),
	item_cursor_version = ProtoField.uint64("vpcfwd.item.cursor_version", "Cursor version"),
	item_cursor_ip = ProtoField.ipv4("vpcfwd.item.cursor_ip", "Cursor IP"),

	resp_count = ProtoField.uint8("vpcfwd.resp.count", "Sections"),
	sec = ProtoField.none("vpcfwd.section", "Section"),
	sec_vni = ProtoField.uint32("vpcfwd.section.vni", "VNI"),
	sec_gen = ProtoField.uint32("vpcfwd.section.gen", "Generation", base.HEX),
	sec_status = ProtoField.uint8("vpcfwd.section.status", "Status", base.DEC, statuses),
	sec_flags = ProtoField.uint8("vpcfwd.section.flags", "Flags", base.HEX),
	sec_more = ProtoField.bool("vpcfwd.section.flags.more", "MORE", 8, nil, F_MORE),
	sec_nvtep = ProtoField.uint8("vpcfwd.section.nvtep", "VTEPs"),
	sec_nentries = ProtoField.uint16("vpcfwd.section.nentries", "Entries"),
	sec_entries_len = ProtoField.uint16("vpcfwd.section.entries_len", "Entries' bytes"),
	sec_since = ProtoField.uint64("vpcfwd.section.since", "Since"),
	sec_upto = ProtoField.uint64("vpcfwd.section.upto", "Up to"),
	sec_cursor_version = ProtoField.uint64("vpcfwd.section.cursor_version",
	    "Cursor version"),
	sec_cursor_ip = ProtoField.ipv4("vpcfwd.section.cursor_ip", "Cursor IP"),
	sec_vtep = ProtoField.ipv4("vpcfwd.section.vtep", "VTEP"),

	ent = ProtoField.none("vpcfwd.entry", "Entry"),
	ent_flags = ProtoField.uint8("vpcfwd.entry.flags", "Flags", base.HEX),
	ent_del = ProtoField.bool("vpcfwd.entry.flags.del", "DEL", 8, nil, ENT_DEL),
	ent_mac_default = ProtoField.bool("vpcfwd.entry.flags.mac_default", "MAC_DEFAULT", 8,
	    nil, ENT_MAC_DEFAULT),
	ent_has_version = ProtoField.bool("vpcfwd.entry.flags.version", "VERSION", 8, nil,
	    ENT_VERSION),
	ent_ip_delta = ProtoField.uint64("vpcfwd.entry.ip_delta", "IP delta (zigzag)"),
	ent_version_delta = ProtoField.uint64("vpcfwd.entry.version_delta", "Version delta"),
	ent_vtep_index = ProtoField.uint8("vpcfwd.entry.vtep_index", "VTEP index"),
	ent_op = ProtoField.uint8("vpcfwd.entry.op", "Op", base.DEC, ops),
	ent_ip = ProtoField.ipv4("vpcfwd.entry.ip", "IP"),
	ent_version = ProtoField.uint64("vpcfwd.entry.version", "Version"),
	ent_vtep = ProtoField.ipv4("vpcfwd.entry.vtep", "VTEP"),
	ent_mac = ProtoField.ether("vpcfwd.entry.mac", "MAC"),
}
p.fields = f

local e_bad = ProtoExpert.new("vpcfwd.malformed", "Malformed vpcfwd datagram",
    expert.group.MALFORMED, expert.severity.ERROR)
p.experts = { e_bad }

local prefs_sync, prefs_learn = 4806, 4807
p.prefs.sync_port = Pref.uint("Sync port (syncd.listen)", prefs_sync,
    "UDP port syncd listens on")
p.prefs.learn_port = Pref.uint("Learn port (learner.listen)", prefs_learn,
    "UDP port learners listen on")

-- A decode failure: one expert error on item, and the decode of that part stops.
local Bad = {}
local function bad(item, msg)
	item:add_proto_expert_info(e_bad, msg)
	error(Bad)
end

local U64_0 = UInt64(0, 0)

-- Unsigned LEB128 at tvb[off..lim): value (UInt64), bytes; nil with the reason.
local function varint(tvb, off, lim)
	local x = UInt64(0, 0)
	for i = 0, 9 do
		if off + i >= lim then
			return nil, "varint past the entries' end"
		end
		local c = tvb(off + i, 1):uint()
		if i == 9 and c > 1 then
			return nil, "varint over 64 bits"
		end
		x = x:bor(UInt64(bit32.band(c, 0x7f), 0):lshift(7 * i))
		if bit32.band(c, 0x80) == 0 then
			if c == 0 and i > 0 then
				return nil, "overlong varint"
			end
			return x, i + 1
		end
	end
	return nil, "varint over 10 bytes"
end

local function mac_default(ip, mac)
	-- 02:00 and the IP's four bytes (addr_default_mac)
	return mac == string.format("02:00:%02x:%02x:%02x:%02x", bit32.rshift(ip, 24),
	    bit32.band(bit32.rshift(ip, 16), 0xff), bit32.band(bit32.rshift(ip, 8), 0xff),
	    bit32.band(ip, 0xff))
end

local function ip_str(ip)
	return string.format("%d.%d.%d.%d", bit32.rshift(ip, 24),
	    bit32.band(bit32.rshift(ip, 16), 0xff), bit32.band(bit32.rshift(ip, 8), 0xff),
	    bit32.band(ip, 0xff))
end

local function vni_valid(v)
	return v >= 1 and v <= VNI_MAX
end

-- The header: the body's offset, the MAC's size, the type.
local function dissect_hdr(tvb, pinfo, tree, len)
	if len < HDR_SIZE then
		bad(tree, "shorter than the 20-byte header")
	end
	local t = tree:add(f.magic, tvb(0, 2))
	if tvb(0, 2):uint() ~= SYNC_MAGIC then
		bad(t, "magic is not 0x5653")
	end
	t = tree:add(f.version, tvb(2, 1))
	if tvb(2, 1):uint() ~= SYNC_VERSION then
		bad(t, "version is not 3")
	end
	local ty = tvb(3, 1):uint()
	t = tree:add(f.type, tvb(3, 1))
	if types[ty] == nil then
		bad(t, "unknown type")
	end
	tree:add(f.id, tvb(4, 4))
	tree:add(f.key_id, tvb(8, 1))
	local fl = tvb(9, 1):uint()
	t = tree:add(f.flags, tvb(9, 1))
	t:add(f.flag_mac, tvb(9, 1))
	if bit32.band(fl, bit32.bnot(H_MAC)) ~= 0 then
		bad(t, "unknown header flag")
	end
	local nl = tvb(10, 1):uint()
	t = tree:add(f.name_len, tvb(10, 1))
	if nl > NAME_MAX then
		bad(t, "host name over 63 bytes")
	end
	t = tree:add(f.pad, tvb(11, 1))
	if tvb(11, 1):uint() ~= 0 then
		bad(t, "pad not zero")
	end
	local ts = tvb(12, 8):uint64()
	local secs = (ts / UInt64(1000000000, 0)):tonumber()
	local nsecs = (ts % UInt64(1000000000, 0)):tonumber()
	tree:add(f.ts, tvb(12, 8), NSTime.new(secs, nsecs))
	local mlen = bit32.band(fl, H_MAC) ~= 0 and MAC_SIZE or 0
	if len < HDR_SIZE + nl + mlen then
		bad(tree, "too short for the name and the MAC")
	end
	if nl > 0 then
		local name = tvb(HDR_SIZE, nl)
		t = tree:add(f.name, name)
		for i = 0, nl - 1 do
			if name(i, 1):uint() == 0 then
				bad(t, "NUL in the host name")
			end
		end
	else
		tree:add(f.name, tvb(HDR_SIZE, 0), "")
	end
	if mlen > 0 then
		t = tree:add(f.mac, tvb(len - mlen, mlen))
		t:add(f.mac_nonce, tvb(len - mlen, NONCE_SIZE))
		t:add(f.mac_tag, tvb(len - mlen + NONCE_SIZE, mlen - NONCE_SIZE))
	end
	return HDR_SIZE + nl, mlen, ty
end

local function dissect_req(tvb, pinfo, tree, body, len)
	if len < body + 4 then
		bad(tree, "too short for the request's count")
	end
	tree:add(f.wait_ms, tvb(body, 2))
	local count = tvb(body + 2, 1):uint()
	local t = tree:add(f.req_count, tvb(body + 2, 1))
	local pt = tree:add(f.pad, tvb(body + 3, 1))
	if tvb(body + 3, 1):uint() ~= 0 then
		bad(pt, "pad not zero")
	end
	if count < 1 or count > VNIS_MAX then
		bad(t, "count not 1..64")
	end
	if len ~= body + 4 + ITEM_SIZE * count then
		bad(t, "length is not 4 + 28 x count after the name")
	end
	local seen, vnis = {}, {}
	for i = 0, count - 1 do
		local o = body + 4 + ITEM_SIZE * i
		local vni = tvb(o, 4):uint()
		local ver = tvb(o + 8, 8):uint64()
		local cv = tvb(o + 16, 8):uint64()
		local cip = tvb(o + 24, 4):uint()
		local it = tree:add(f.item, tvb(o, ITEM_SIZE))
		it:set_text(string.format("Item %d: VNI %d, version %s", i, vni, tostring(ver)))
		local vt = it:add(f.item_vni, tvb(o, 4))
		it:add(f.item_gen, tvb(o + 4, 4))
		it:add(f.item_version, tvb(o + 8, 8))
		local ct = it:add(f.item_cursor_version, tvb(o + 16, 8))
		it:add(f.item_cursor_ip, tvb(o + 24, 4))
		if not vni_valid(vni) then
			bad(vt, "VNI not 1..0xffffff")
		end
		if seen[vni] then
			bad(vt, "VNI twice in the request")
		end
		seen[vni] = true
		vnis[#vnis + 1] = tostring(vni)
		if cv == U64_0 then
			if cip ~= 0 then
				bad(ct, "cursor IP without a cursor version")
			end
		elseif cv <= ver then
			bad(ct, "cursor version not above the version")
		end
	end
	return "vni " .. table.concat(vnis, ",")
end

-- One entry at o (within lim); s holds the section's decoding state.
local function dissect_entry(tvb, tree, s, o, lim, n)
	local start = o
	local et = tree:add(f.ent, tvb(o, 1))
	local fl = tvb(o, 1):uint()
	local ft = et:add(f.ent_flags, tvb(o, 1))
	ft:add(f.ent_del, tvb(o, 1))
	ft:add(f.ent_mac_default, tvb(o, 1))
	ft:add(f.ent_has_version, tvb(o, 1))
	if bit32.band(fl, bit32.bnot(ENT_DEL + ENT_MAC_DEFAULT + ENT_VERSION)) ~= 0 then
		bad(ft, "unknown entry flag")
	end
	if bit32.band(fl, ENT_DEL + ENT_MAC_DEFAULT) == ENT_DEL + ENT_MAC_DEFAULT then
		bad(ft, "DEL with MAC_DEFAULT")
	end
	o = o + 1
	local z, nb = varint(tvb, o, lim)
	if z == nil then
		bad(et, nb)
	end
	et:add(f.ent_ip_delta, tvb(o, nb), z)
	-- zigzag: even +z/2, odd -(z+1)/2; within 32 bits (else the IP leaves them)
	if z > UInt64(0xffffffff, 1) then
		bad(et, "IP delta past 32 bits")
	end
	local zn = z:tonumber()
	local ip
	if zn % 2 == 1 then
		ip = s.ip - (zn + 1) / 2
	else
		ip = s.ip + zn / 2
	end
	if ip < 0 or ip > 0xffffffff then
		bad(et, "IP out of 32 bits")
	end
	local ipt = et:add(f.ent_ip, tvb(o, nb), Address.ip(ip_str(ip)))
	o = o + nb
	local version
	if bit32.band(fl, ENT_VERSION) ~= 0 then
		local d
		d, nb = varint(tvb, o, lim)
		if d == nil then
			bad(et, nb)
		end
		local dt = et:add(f.ent_version_delta, tvb(o, nb), d)
		if d == U64_0 or d > s.upto - s.version then
			bad(dt, "version delta 0 or past upto")
		end
		version = s.version + d
		et:add(f.ent_version, tvb(o, nb), version)
		o = o + nb
	else
		if s.first then
			bad(ft, "the first entry without VERSION")
		end
		if ip <= s.ip then
			bad(ipt, "(version, ip) not above the previous entry's")
		end
		version = s.version
		et:add(f.ent_version, tvb(start, 1), version):set_generated()
	end
	local desc
	if bit32.band(fl, ENT_DEL) ~= 0 then
		et:add(f.ent_op, tvb(start, 1), 2):set_generated()
		desc = string.format("DEL %s v%s", ip_str(ip), tostring(version))
		s.dels = s.dels + 1
	else
		et:add(f.ent_op, tvb(start, 1), 1):set_generated()
		if o >= lim then
			bad(et, "VTEP index past the entries' end")
		end
		local vi = tvb(o, 1):uint()
		local vit = et:add(f.ent_vtep_index, tvb(o, 1))
		if vi >= s.nvtep or vi > s.used then
			bad(vit, "VTEP index not a used one or the next")
		end
		if vi == s.used then
			s.used = s.used + 1
		end
		local vtep = s.vteps[vi]
		et:add(f.ent_vtep, tvb(o, 1), Address.ip(ip_str(vtep))):set_generated()
		o = o + 1
		local mac
		if bit32.band(fl, ENT_MAC_DEFAULT) ~= 0 then
			mac = string.format("02:00:%02x:%02x:%02x:%02x", bit32.rshift(ip, 24),
			    bit32.band(bit32.rshift(ip, 16), 0xff),
			    bit32.band(bit32.rshift(ip, 8), 0xff), bit32.band(ip, 0xff))
			et:add(f.ent_mac, tvb(start, 1), Address.ether(mac)):set_generated()
		else
			if o + 6 > lim then
				bad(et, "MAC past the entries' end")
			end
			local m = tvb(o, 6)
			local mt = et:add(f.ent_mac, m)
			mac = tostring(m:ether())
			local b0 = m(0, 1):uint()
			if bit32.band(b0, 1) ~= 0 or mac == "00:00:00:00:00:00" then
				bad(mt, "MAC multicast or zero")
			end
			if mac_default(ip, mac) then
				bad(mt, "the default MAC without MAC_DEFAULT")
			end
			o = o + 6
		end
		desc = string.format("SET %s v%s at %s %s", ip_str(ip), tostring(version),
		    ip_str(vtep), mac)
		s.sets = s.sets + 1
	end
	et:set_len(o - start)
	et:set_text(string.format("Entry %d: %s", n, desc))
	s.ip = ip
	s.version = version
	s.first = false
	return o
end

-- One section at o; the offset after it.
local function dissect_section(tvb, tree, ty, o, len, n, sum)
	if len - o < SEC_SIZE then
		bad(tree, "section past the datagram's end")
	end
	local st = tree:add(f.sec, tvb(o, SEC_SIZE))
	local start = o
	local vni = tvb(o, 4):uint()
	local status = tvb(o + 8, 1):uint()
	local fl = tvb(o + 9, 1):uint()
	local nvtep = tvb(o + 10, 1):uint()
	local nent = tvb(o + 12, 2):uint()
	local elen = tvb(o + 14, 2):uint()
	local since = tvb(o + 16, 8):uint64()
	local upto = tvb(o + 24, 8):uint64()
	local vt = st:add(f.sec_vni, tvb(o, 4))
	st:add(f.sec_gen, tvb(o + 4, 4))
	local stt = st:add(f.sec_status, tvb(o + 8, 1))
	local ft = st:add(f.sec_flags, tvb(o + 9, 1))
	ft:add(f.sec_more, tvb(o + 9, 1))
	local nt = st:add(f.sec_nvtep, tvb(o + 10, 1))
	local pt = st:add(f.pad, tvb(o + 11, 1))
	st:add(f.sec_nentries, tvb(o + 12, 2))
	local lt = st:add(f.sec_entries_len, tvb(o + 14, 2))
	st:add(f.sec_since, tvb(o + 16, 8))
	local ut = st:add(f.sec_upto, tvb(o + 24, 8))
	st:set_text(string.format("Section %d: VNI %d, %s, %s..%s, %d entries", n, vni,
	    statuses[status] or tostring(status), tostring(since), tostring(upto), nent))
	sum[#sum + 1] = string.format("%d %s", vni, statuses[status] or "?")
	if not vni_valid(vni) then
		bad(vt, "VNI not 1..0xffffff")
	end
	if statuses[status] == nil then
		bad(stt, "status not 1..4")
	end
	if since > upto then
		bad(ut, "upto below since")
	end
	if ty == LEARN and (status ~= OK or since ~= U64_0) then
		bad(stt, "a LEARN's section is OK, since 0")
	end
	if tvb(o + 11, 1):uint() ~= 0 then
		bad(pt, "pad not zero")
	end
	if bit32.band(fl, bit32.bnot(F_MORE)) ~= 0 then
		bad(ft, "unknown section flag")
	end
	if nvtep > VTEPS_MAX then
		bad(nt, "over 64 VTEPs")
	end
	if status ~= OK and (fl ~= 0 or nvtep ~= 0 or nent ~= 0 or elen ~= 0) then
		bad(stt, "a status other than OK with flags, VTEPs or entries")
	end
	if ty == LEARN and (fl ~= 0 or nent ~= 1) then
		bad(stt, "a LEARN's section has one entry, no MORE")
	end
	o = o + SEC_SIZE
	if bit32.band(fl, F_MORE) ~= 0 then
		if len - o < CURSOR_SIZE then
			bad(st, "cursor past the datagram's end")
		end
		local cv = tvb(o, 8):uint64()
		local ct = st:add(f.sec_cursor_version, tvb(o, 8))
		st:add(f.sec_cursor_ip, tvb(o + 8, 4))
		if not (cv > since and cv <= upto) then
			bad(ct, "cursor version not in (since, upto]")
		end
		o = o + CURSOR_SIZE
	end
	if len - o < elen or len - o - elen < 4 * nvtep then
		bad(lt, "entries or VTEP table past the datagram's end")
	end
	local s = { ip = 0, version = since, upto = upto, first = true, nvtep = nvtep,
	    used = 0, vteps = {}, sets = 0, dels = 0 }
	local vto = o + elen
	local seen = {}
	for i = 0, nvtep - 1 do
		local v = tvb(vto + 4 * i, 4):uint()
		s.vteps[i] = v
	end
	local eo, lim = o, o + elen
	for i = 0, nent - 1 do
		eo = dissect_entry(tvb, st, s, eo, lim, i)
		if ty == LEARN and s.dels > 0 then
			bad(st, "a LEARN's entry is a DEL")
		end
	end
	if eo ~= lim then
		bad(lt, "entries do not fill entries_len exactly")
	end
	for i = 0, nvtep - 1 do
		local v = s.vteps[i]
		local t = st:add(f.sec_vtep, tvb(vto + 4 * i, 4))
		if seen[v] then
			bad(t, "VTEP twice in the table")
		end
		seen[v] = true
	end
	if s.used ~= nvtep then
		bad(nt, "a VTEP of the table no entry uses")
	end
	o = vto + 4 * nvtep
	st:set_len(o - start)
	return o
end

local function dissect_resp(tvb, pinfo, tree, ty, body, len)
	if len < body + 4 then
		bad(tree, "too short for the sections' count")
	end
	local count = tvb(body, 1):uint()
	local t = tree:add(f.resp_count, tvb(body, 1))
	local pt = tree:add(f.pad, tvb(body + 1, 3))
	if tvb(body + 1, 3):uint() ~= 0 then
		bad(pt, "pad not zero")
	end
	if count > SECTIONS_MAX then
		bad(t, "over 64 sections")
	end
	if ty == LEARN and (tvb(4, 4):uint() ~= 0 or count ~= 1) then
		bad(t, "a LEARN has id 0 and one section")
	end
	local o, sum = body + 4, {}
	for i = 0, count - 1 do
		o = dissect_section(tvb, tree, ty, o, len, i, sum)
	end
	if o ~= len then
		bad(tree, "bytes after the last section")
	end
	return table.concat(sum, ", ")
end

function p.dissector(tvb, pinfo, tree)
	local len = tvb:reported_length_remaining()
	if len < 4 or tvb(0, 2):uint() ~= SYNC_MAGIC then
		return 0
	end
	pinfo.cols.protocol = "vpcfwd"
	local root = tree:add(p, tvb())
	local ty = tvb(3, 1):uint()
	local info = types[ty] or "?"
	if ty ~= LEARN and len >= 8 then
		info = string.format("%s id=0x%08x", info, tvb(4, 4):uint())
	end
	pinfo.cols.info = info
	local ok, err = pcall(function()
		local body, mlen, t = dissect_hdr(tvb, pinfo, root, len)
		local nl = tvb(10, 1):uint()
		if nl > 0 then
			info = info .. " " .. tvb(HDR_SIZE, nl):string()
		end
		local more
		if t == REQ then
			more = dissect_req(tvb, pinfo, root, body, len - mlen)
		else
			more = dissect_resp(tvb, pinfo, root, t, body, len - mlen)
		end
		info = info .. ": " .. more
	end)
	pinfo.cols.info = info
	if not ok and err ~= Bad then
		-- a bug here, or a truncated capture: shown, as an error
		root:add_proto_expert_info(e_bad, "cannot decode: " .. tostring(err))
	end
	return len
end

local udp = DissectorTable.get("udp.port")
local registered = {}
local function register_ports()
	for _, port in ipairs(registered) do
		udp:remove(port, p)
	end
	registered = { p.prefs.sync_port, p.prefs.learn_port }
	for _, port in ipairs(registered) do
		udp:add(port, p)
	end
end
register_ports()
p.prefs_changed = register_ports

-- The learn bit: byte 1, bit 0x80 of the VXLAN header, reserved in RFC 7348 (and in
-- VXLAN-GBP), so the built-in dissector leaves it alone: bit 0x0080 of its 16-bit
-- vxlan.flags. A postdissector reads that field and adds vpcfwd_vxlan.learn on top.
local pv = Proto("vpcfwd_vxlan", "vpcfwd VXLAN learn bit")
local fv_learn = ProtoField.bool("vpcfwd_vxlan.learn", "Learn bit")
local fv_vni = ProtoField.uint32("vpcfwd_vxlan.vni", "VNI")
pv.fields = { fv_learn, fv_vni }
local e_learn = ProtoExpert.new("vpcfwd_vxlan.learn_bit", "vpcfwd learn bit set",
    expert.group.SEQUENCE, expert.severity.CHAT)
pv.experts = { e_learn }

local vxlan_flags = Field.new("vxlan.flags")
local vxlan_vni = Field.new("vxlan.vni")
local LEARN_BIT = 0x0080

function pv.dissector(tvb, pinfo, tree)
	local flags = { vxlan_flags() }
	if #flags == 0 then
		return
	end
	local vnis = { vxlan_vni() }
	-- the outermost VXLAN header: a vpcfwd forwarder sends no VXLAN within VXLAN
	local fi = flags[1]
	local learn = bit32.band(fi.value, LEARN_BIT) ~= 0
	local t = tree:add(pv, fi.range)
	t:add(fv_learn, fi.range:range(1, 1), learn)
	if vnis[1] ~= nil then
		t:add(fv_vni, vnis[1].range, vnis[1].value)
	end
	t:set_text(string.format("vpcfwd VXLAN: learn bit %s", learn and "set" or "clear"))
	if learn then
		t:add_proto_expert_info(e_learn, "learn bit: the sender asks for this rule")
		pinfo.cols.info:prepend("[learn] ")
	end
end
register_postdissector(pv)
