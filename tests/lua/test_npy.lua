-- test_npy.lua: NumPy .npy files: round trips, the header variants NumPy
-- writes (v1.0, v2.0, float64, 1-D), malformed files rejected with a clear
-- "path: what is wrong", and a cross-check against NumPy itself when
-- /usr/bin/python3 can import numpy.
local T = require "cwb.test"
local ok, is, like, throws = T.ok, T.is, T.like, T.throws
local tensor = cwb.tensor

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir -p '" .. dir .. "'"))

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function spit(path, bytes)
  local f = assert(io.open(path, "wb"))
  f:write(bytes)
  f:close()
  return path
end

-- A .npy file by hand: header dict text, version, payload.
local function npy(header, payload, major, pad_to)
  major = major or 1
  local text = header
  local pre = major == 1 and 10 or 12
  pad_to = pad_to or 64
  local total = pre + #text + 1
  text = text .. string.rep(" ", (pad_to - total % pad_to) % pad_to) .. "\n"
  local len = major == 1 and string.pack("<I2", #text) or string.pack("<I4", #text)
  return "\x93NUMPY" .. string.char(major, 0) .. len .. text .. (payload or "")
end

local function floats(fmt, values)
  local parts = {}
  for i, v in ipairs(values) do parts[i] = string.pack(fmt, v) end
  return table.concat(parts)
end

-- ---------------------------------------------------------- round trip ----
do
  local t = tensor.randn(7, 5, 3)
  t:set(1, 1, 0.1)        -- not exactly representable: checks the bits survive
  t:set(7, 5, -1e30)
  local p = dir .. "/t.npy"
  is(t:save_npy(p), t, "save_npy returns the tensor")
  local u = tensor.load_npy(p)
  ok(u == t, "round trip keeps every float32 bit")
  local rows, cols = u:shape()
  ok(rows == 7 and cols == 5, "round trip keeps the shape")
  local bytes = slurp(p)
  is(bytes:sub(1, 8), "\x93NUMPY\1\0", "written with magic and version 1.0")
  local hlen = string.unpack("<I2", bytes, 9)
  is((10 + hlen) % 64, 0, "data starts on a 64-byte boundary")
  is(bytes:sub(10 + hlen, 10 + hlen), "\n", "header ends with a newline")
  like(bytes:sub(11, 10 + hlen), "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 5), }",
       "header dict as NumPy writes it")
  is(#bytes, 10 + hlen + 7 * 5 * 4, "payload is rows * cols * 4 bytes")
  is(string.unpack("<f", bytes, 11 + hlen), t:get(1, 1), "payload is little-endian row-major float32")
  local ls = io.popen("ls -A '" .. dir .. "'")
  local names = ls:read("a")
  ls:close()
  is(names, "t.npy\n", "no temporary file left behind")
  t:save_npy(p) -- overwrite in place
  ok(tensor.load_npy(p) == t, "overwriting an existing file works")
end

-- ------------------------------------------------ header variants ----------
do
  local v = {1.5, -2, 3.25, 4, 5, 6}
  local t = tensor.load_npy(spit(dir .. "/v1.npy",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", floats("<f", v))))
  ok(t == tensor.from(v, 2, 3), "v1.0 header, '<f4', 2-D")
  t = tensor.load_npy(spit(dir .. "/v2.npy",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", floats("<f", v), 2)))
  ok(t == tensor.from(v, 3, 2), "v2.0 header (4-byte length)")
  t = tensor.load_npy(spit(dir .. "/v3.npy",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }", floats("<f", v), 3)))
  ok(t == tensor.from(v, 3, 2), "v3.0 header (UTF-8, 4-byte length)")
  t = tensor.load_npy(spit(dir .. "/f8.npy",
    npy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", floats("<d", {0.1, 2, 3, 4, 5, 1e300}))))
  ok(t:get(1, 1) == string.unpack("<f", string.pack("<f", 0.1)), "'<f8' converted to float32")
  ok(t:get(2, 3) == math.huge, "float64 beyond float32's range becomes inf")
  t = tensor.load_npy(spit(dir .. "/1d.npy",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", floats("<f", {1, 2, 3, 4}))))
  local r, c = t:shape()
  ok(r == 4 and c == 1 and t:get(3) == 3, "1-D (n,) loads as n x 1")
  t = tensor.load_npy(spit(dir .. "/old.npy",
    npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 1L)}", floats("<f", {7, 8}), 1, 16)))
  ok(t == tensor.from({7, 8}, 2, 1), "old NumPy: 16-byte padding, Python 2 longs, no trailing comma")
  t = tensor.load_npy(spit(dir .. "/order.npy",
    npy("{\"shape\": (1, 2), \"fortran_order\": False, \"descr\": \"<f4\"}", floats("<f", {9, 10}))))
  ok(t == tensor.from{9, 10}, "keys in any order, double quotes")
end

-- --------------------------------------------------- malformed files -------
do
  local good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }"
  local data = floats("<f", {1, 2, 3, 4})
  local cases = {
    {"magic.npy", "PK\3\4 not numpy at all", "not a .npy file (bad magic)"},
    {"short.npy", "\x93NUM", "not a .npy file (bad magic)"},
    {"version.npy", npy(good, data):gsub("^\x93NUMPY\1", "\x93NUMPY\9"), "unsupported .npy version 9.0"},
    {"trunc_header.npy", npy(good, data):sub(1, 30), "truncated header"},
    {"trunc_data.npy", npy(good, data):sub(1, -5), "truncated data (shape (2, 2) needs 16 bytes, found 12)"},
    {"extra.npy", npy(good, data) .. "xx", "2 unexpected bytes after the data"},
    {"fortran.npy", npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", data),
     "fortran_order True is not supported"},
    {"complex.npy", npy("{'descr': '<c8', 'fortran_order': False, 'shape': (2, 1), }", data),
     "unsupported dtype '<c8' (cwb reads '<f4', '<f8', '<f2' and integers such as '<i8')"},
    {"text.npy", npy("{'descr': '<U3', 'fortran_order': False, 'shape': (1, 1), }", data),
     "unsupported dtype '<U3'"},
    {"bigint.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2, 1), }",
                       string.pack("<i8<i8", 3, 16777217)),
     "element 1 (1.67772e+07) does not fit float32 exactly (integers up to 2^24)"},

    {"bigend.npy", npy("{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }", data),
     "unsupported dtype '>f4'"},
    {"3d.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 2), }", data),
     "3-d arrays are not supported (shape (1, 2, 2))"},
    {"0d.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", data:sub(1, 4)),
     "0-d arrays are not supported"},
    {"empty.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", ""),
     "empty array (shape (0, 3))"},
    {"nokey.npy", npy("{'descr': '<f4', 'shape': (2, 2), }", data), "malformed header: no 'fortran_order' key"},
    {"junk.npy", npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 2), }", data),
     "malformed header: fortran_order must be True or False"},
    {"nonl.npy", (npy(good, data):gsub("\n", " ")), "malformed header: does not end with a newline"},
    {"notdict.npy", npy("['descr', '<f4']", data), "malformed header: '{' expected"},
  }
  for _, c in ipairs(cases) do
    local path = spit(dir .. "/" .. c[1], c[2])
    throws(function() tensor.load_npy(path) end, path .. ": " .. c[3], c[1] .. ": " .. c[3])
  end
  throws(function() tensor.load_npy(dir .. "/missing.npy") end,
         dir .. "/missing.npy: No such file or directory", "a missing file names itself")
  throws(function() tensor.load_npy({}) end, "bad argument #1 to 'load_npy' (string expected, got table)",
         "load_npy wants a path")
  throws(function() tensor.ones(2, 2):save_npy(dir .. "/no/such/dir/x.npy") end,
         "No such file or directory", "save_npy to a missing folder is an error")
  -- the error point is the recipe's line, as for any Lua error
  local okc, err = pcall(function() return tensor.load_npy(dir .. "/magic.npy") end)
  like(not okc and err, {"test_npy%.lua:%d+: /.*magic%.npy: not a %.npy file"},
       "the message carries the caller's position")
end

-- ------------------------------------------ integers and half floats ----
do
  local p = spit(dir .. "/labels.npy", npy("{'descr': '<i8', 'fortran_order': False, 'shape': (4,), }",
                                           string.pack("<i8<i8<i8<i8", 0, 9, -3, 16777216)))
  local y = tensor.load_npy(p)
  ok(y:rows() == 4 and y:cols() == 1 and y:get(1) == 0 and y:get(2) == 9 and y:get(3) == -3 and
     y:get(4) == 16777216, "int64 labels (NumPy's default) read exactly, negatives and 2^24 included")
  local kinds = {{"|u1", "<B", 255}, {"|i1", "<b", -128}, {"<u2", "<I2", 65535}, {"<i2", "<i2", -32768},
                 {"<u4", "<I4", 70000}, {"<i4", "<i4", -70000}, {"<u8", "<I8", 12345}, {"|b1", "<B", 1}}
  local all = true
  for _, k in ipairs(kinds) do
    local q = spit(dir .. "/k.npy", npy("{'descr': '" .. k[1] .. "', 'fortran_order': False, 'shape': (1, 2), }",
                                        string.pack(k[2] .. k[2], k[3], 0)))
    local t = tensor.load_npy(q)
    all = all and t:get(1, 1) == k[3] and t:get(1, 2) == 0
  end
  ok(all, "every integer dtype (u1 i1 u2 i2 u4 i4 u8 b1) reads its values")
  -- float16: 1, -2, 0.5, 65504 (largest), 2^-24 (smallest subnormal), inf
  local h = spit(dir .. "/half.npy", npy("{'descr': '<f2', 'fortran_order': False, 'shape': (2, 3), }",
                                         string.pack("<I2<I2<I2<I2<I2<I2", 0x3c00, 0xc000, 0x3800,
                                                     0x7bff, 0x0001, 0x7c00)))
  local t = tensor.load_npy(h)
  ok(t:get(1, 1) == 1 and t:get(1, 2) == -2 and t:get(1, 3) == 0.5 and t:get(2, 1) == 65504 and
     t:get(2, 2) == 2 ^ -24 and t:get(2, 3) == math.huge, "float16 (CLIP features often are) reads exactly")
end

-- ----------------------------------------------- cross-check with NumPy ----
local function have_numpy()
  local f = io.open("/usr/bin/python3")
  if not f then return false end
  f:close()
  return os.execute("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == true
end

if not have_numpy() then
  T.skip("no /usr/bin/python3 with numpy", 8)
else
  local function py(code)
    local f = assert(io.popen("/usr/bin/python3 -c '" .. code .. "'"))
    local out = f:read("a")
    local okc = f:close()
    return okc and out or nil
  end
  -- cwb writes, NumPy reads
  local t = tensor.randn(6, 4, 9)
  local p = dir .. "/cwb.npy"
  t:save_npy(p)
  local out = py("import numpy as np; a = np.load(\"" .. p .. "\"); print(a.dtype, a.shape, a.flags.c_contiguous); " ..
                 "print(repr(float(a[0,0])), repr(float(a[5,3])), repr(float(a.astype(\"f8\").sum())))")
  ok(out ~= nil, "numpy loads a file cwb wrote")
  local l1, l2 = (out or ""):match("([^\n]*)\n([^\n]*)")
  is(l1, "float32 (6, 4) True", "numpy sees float32, the shape, C order")
  local v11, v64, sum = (l2 or ""):match("(%S+) (%S+) (%S+)")
  ok(tonumber(v11) == t:get(1, 1) and tonumber(v64) == t:get(6, 4), "numpy reads the same values")
  local s = 0
  for _, v in ipairs(t:flat()) do s = s + v end
  ok(tonumber(sum) and math.abs(tonumber(sum) - s) < 1e-9, "numpy's sum equals cwb's")
  -- NumPy writes, cwb reads: float32, float64, 1-D, version 2.0, Fortran order
  local code = "import numpy as np; from numpy.lib import format as F; " ..
    "x = np.arange(12, dtype=\"f4\").reshape(3, 4) / 7; np.save(\"" .. dir .. "/np32.npy\", x); " ..
    "np.save(\"" .. dir .. "/np64.npy\", x.astype(\"f8\")); " ..
    "np.save(\"" .. dir .. "/np1d.npy\", np.linspace(0, 1, 5)); " ..
    "f = open(\"" .. dir .. "/np2.npy\", \"wb\"); F.write_array(f, x, version=(2, 0)); f.close(); " ..
    "np.save(\"" .. dir .. "/npf.npy\", np.asfortranarray(x))"
  ok(py(code) ~= nil, "numpy wrote its files")
  local expect = tensor.new(3, 4)
  for i = 1, 3 do
    for j = 1, 4 do expect:set(i, j, string.unpack("<f", string.pack("<f", ((i - 1) * 4 + (j - 1)) / 7))) end
  end
  local a32, a64, a2 = tensor.load_npy(dir .. "/np32.npy"), tensor.load_npy(dir .. "/np64.npy"),
                       tensor.load_npy(dir .. "/np2.npy")
  ok(a32:rows() == 3 and a32:cols() == 4 and (a32 - expect):norm() < 1e-6 and a2 == a32,
     "cwb reads numpy's float32 (v1.0 and v2.0)")
  ok((a64 - expect):norm() < 1e-6, "cwb reads numpy's float64 as float32")
  local v = tensor.load_npy(dir .. "/np1d.npy")
  ok(v:rows() == 5 and v:cols() == 1 and v:get(5) == 1 and v:get(2) == 0.25, "cwb reads numpy's 1-D array as n x 1")
  throws(function() tensor.load_npy(dir .. "/npf.npy") end, "fortran_order True is not supported",
         "cwb refuses numpy's Fortran-ordered array clearly")
end

os.execute("rm -rf '" .. dir .. "'")
T.done()
