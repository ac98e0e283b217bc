# Writes the binary twin (.bplist) of every XML sample in msg/ with Python's plistlib, an encoder
# independent of the decoder under test. Run from testdata/: python3 gen_binary.py
import pathlib, plistlib
for xml in sorted(pathlib.Path("msg").glob("*.xml")):
    with open(xml, "rb") as f:
        value = plistlib.load(f)
    xml.with_suffix(".bplist").write_bytes(plistlib.dumps(value, fmt=plistlib.FMT_BINARY))
