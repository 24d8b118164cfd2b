import json, random, sys
random.seed(int(sys.argv[1]))
alphabet = list("ab xyz:#-?*&!|>'\"%@`,[]{}\\\t\n.~_+=0123456789eE") + ["é", "😀", "\u2028", "\u00a0", "\ufeff", "\r", "\x01", "  ", "---", "...", ": ", " #", "yes", "no", "on", "null", "true", "1e3", "0x1F", "0o7", "07", "1_0", "12:30", "2021-01-01", "<<"]
def rstr():
    n = random.choice([0,1,2,3,5,8,20,60,100,130])
    s = "".join(random.choice(alphabet) for _ in range(n))
    if random.random() < 0.2:
        s = " ".join("word%d" % i for i in range(random.randint(5, 40)))
    return s
def rnum():
    return random.choice([0, -1, 1.5, 1e6, 1e21, 1e-7, 123456789, 0.1, 1234567.5, 2**53+1, -0.0, 12345678901234567890, 3.0, 1e20, 100000.0])
def rval(d=0):
    r = random.random()
    if d < 3 and r < 0.2: return {rstr(): rval(d+1) for _ in range(random.randint(0,4))}
    if d < 3 and r < 0.35: return [rval(d+1) for _ in range(random.randint(0,4))]
    if r < 0.45: return rnum()
    if r < 0.5: return random.choice([True, False, None])
    return rstr()
v = {("k%02d_" % i) + random.choice(["", rstr()]): rval() for i in range(40)}
t = json.dumps(v, ensure_ascii=False)
for ch, esc in (("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\ufeff", "\\ufeff")):
    t = t.replace(ch, esc)
open("values.json", "w", encoding="utf-8").write(t)
