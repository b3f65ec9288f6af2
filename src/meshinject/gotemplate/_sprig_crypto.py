"""Sprig's hashing and crypto functions that need no certificate machinery.

bcrypt comes from the ``bcrypt`` package when installed, else from the system's libcrypt (libxcrypt);
AES-CBC and private-key generation use the system's libcrypto (OpenSSL 3) through ctypes. When a library is
missing the function fails with a clear error instead of printing something wrong.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import functools
import hashlib
import hmac
import secrets
import struct
import uuid
import zlib
from typing import Any

from meshinject.gotemplate._sprig_base import FuncError, from_bytes, to_bytes
from meshinject.gotemplate._sprig_strings import _b64_decode, _CorruptInput
from meshinject.gotemplate.funcs import go_func


@go_func("string")
def sha1sum(s: str) -> str:
    return hashlib.sha1(to_bytes(s)).hexdigest()


@go_func("string")
def sha256sum(s: str) -> str:
    return hashlib.sha256(to_bytes(s)).hexdigest()


@go_func("string")
def sha512sum(s: str) -> str:
    return hashlib.sha512(to_bytes(s)).hexdigest()


@go_func("string")
def adler32sum(s: str) -> str:
    return str(zlib.adler32(to_bytes(s)))


@go_func("int")
def rand_bytes(count: int) -> str:
    if count < 0:
        raise FuncError("runtime error: makeslice: len out of range")
    return base64.b64encode(secrets.token_bytes(count)).decode("ascii")


@go_func()
def uuidv4() -> str:
    return str(uuid.uuid4())


# --- bcrypt -------------------------------------------------------------------------------------------------

_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_BCRYPT_COST = 10  # bcrypt.DefaultCost


def _bcrypt_salt() -> str:
    raw = secrets.token_bytes(16)
    bits = int.from_bytes(raw, "big") << 4  # 128 bits padded to 132 = 22 six-bit digits
    return "".join(_BCRYPT_ALPHABET[(bits >> (6 * i)) & 63] for i in range(21, -1, -1))


@functools.lru_cache(maxsize=1)
def _libcrypt() -> Any:
    name = ctypes.util.find_library("crypt")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
        fn = lib.crypt_rn
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_char_p
    fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_int]
    return fn


def bcrypt_hash(password: bytes) -> str:
    """A ``$2a$10$`` bcrypt hash, as golang.org/x/crypto/bcrypt generates it."""
    if len(password) > 72:
        raise ValueError("bcrypt: password length exceeds 72 bytes")
    try:
        import bcrypt as _bcrypt  # type: ignore[import-not-found,unused-ignore]

        hashed: bytes = _bcrypt.hashpw(password, _bcrypt.gensalt(rounds=_BCRYPT_COST, prefix=b"2a"))
        return hashed.decode("ascii")
    except ImportError:
        pass
    crypt_rn = _libcrypt()
    if crypt_rn is None or b"\x00" in password:
        raise FuncError("bcrypt is not available: install the bcrypt package or libcrypt")
    setting = f"$2a${_BCRYPT_COST:02d}${_bcrypt_salt()}".encode("ascii")
    data = ctypes.create_string_buffer(65536)
    out = crypt_rn(password, setting, data, len(data))
    if not out or out.startswith(b"*"):
        raise FuncError("bcrypt is not available in this libcrypt")
    return bytes(out).decode("ascii")


@go_func("string")
def bcrypt(s: str) -> str:
    try:
        return bcrypt_hash(to_bytes(s))
    except ValueError as exc:
        return f"failed to encrypt string with bcrypt: {exc}"


@go_func("string", "string", "string")
def htpasswd(username: str, password: str, hash_algorithm: str) -> str:
    if ":" in username:
        return f"invalid username: {username}"
    if hash_algorithm == "sha":
        digest = base64.b64encode(hashlib.sha1(to_bytes(password)).digest()).decode("ascii")
        return f"{username}:{{SHA}}{digest}"
    return f"{username}:{bcrypt(password)}"


# --- derivePassword (the Master Password algorithm) ---------------------------------------------------------

_MASTER_SEED = b"com.lyndir.masterpassword"
_TEMPLATES = {
    "maximum": ["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
    "long": ["CvcvnoCvcvCvcv", "CvcvCvcvnoCvcv", "CvcvCvcvCvcvno", "CvccnoCvcvCvcv", "CvccCvcvnoCvcv",
             "CvccCvcvCvcvno", "CvcvnoCvccCvcv", "CvcvCvccnoCvcv", "CvcvCvccCvcvno", "CvcvnoCvcvCvcc",
             "CvcvCvcvnoCvcc", "CvcvCvcvCvccno", "CvccnoCvccCvcv", "CvccCvccnoCvcv", "CvccCvccCvcvno",
             "CvcvnoCvccCvcc", "CvcvCvccnoCvcc", "CvcvCvccCvccno", "CvccnoCvcvCvcc", "CvccCvcvnoCvcc",
             "CvccCvcvCvccno"],
    "medium": ["CvcnoCvc", "CvcCvcno"],
    "short": ["Cvcn"],
    "basic": ["aaanaaan", "aannaaan", "aaannaaa"],
    "pin": ["nnnn"],
}  # fmt: skip
_CHARACTERS = {
    "V": "AEIOU",
    "C": "BCDFGHJKLMNPQRSTVWXYZ",
    "v": "aeiou",
    "c": "bcdfghjklmnpqrstvwxyz",
    "A": "AEIOUBCDFGHJKLMNPQRSTVWXYZ",
    "a": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
    "n": "0123456789",
    "o": "@&%?,=[]_:-+*$#!'^~;()/.",
    "x": "AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
}


@go_func("int", "string", "string", "string", "string")
def derive_password(counter: int, password_type: str, password: str, user: str, site: str) -> str:
    templates = _TEMPLATES.get(password_type)
    if templates is None:
        return f"cannot find password template {password_type}"
    user_b, site_b = to_bytes(user), to_bytes(site)
    salt = _MASTER_SEED + struct.pack(">I", len(user_b) & 0xFFFFFFFF) + user_b
    key = hashlib.scrypt(to_bytes(password), salt=salt, n=32768, r=8, p=2, maxmem=1 << 26, dklen=64)
    message = _MASTER_SEED + struct.pack(">I", len(site_b) & 0xFFFFFFFF) + site_b
    message += struct.pack(">I", counter & 0xFFFFFFFF)
    seed = hmac.new(key, message, hashlib.sha256).digest()
    template = templates[seed[0] % len(templates)]
    return "".join(_CHARACTERS[c][seed[i + 1] % len(_CHARACTERS[c])] for i, c in enumerate(template))


# --- libcrypto: AES-CBC and key generation ------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _libcrypto() -> Any:
    name = ctypes.util.find_library("crypto")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
        lib.EVP_CIPHER_CTX_new.restype = ctypes.c_void_p
        lib.EVP_aes_256_cbc.restype = ctypes.c_void_p
        lib.EVP_CipherInit_ex.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p,
                                          ctypes.c_char_p, ctypes.c_int]  # fmt: skip
        lib.EVP_CIPHER_CTX_set_padding.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.EVP_CipherUpdate.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int),
                                         ctypes.c_char_p, ctypes.c_int]  # fmt: skip
        lib.EVP_CIPHER_CTX_free.argtypes = [ctypes.c_void_p]
    except (OSError, AttributeError):
        return None
    return lib


def _aes_cbc(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    lib = _libcrypto()
    if lib is None:
        raise FuncError("AES is not available: libcrypto was not found")
    ctx = lib.EVP_CIPHER_CTX_new()
    try:
        if not lib.EVP_CipherInit_ex(ctx, lib.EVP_aes_256_cbc(), None, key, iv, 1 if encrypt else 0):
            raise FuncError("AES initialisation failed")
        lib.EVP_CIPHER_CTX_set_padding(ctx, 0)
        out = ctypes.create_string_buffer(len(data) + 32)
        n = ctypes.c_int(0)
        if not lib.EVP_CipherUpdate(ctx, out, ctypes.byref(n), data, len(data)):
            raise FuncError("AES failed")
        return out.raw[: n.value]
    finally:
        lib.EVP_CIPHER_CTX_free(ctx)


def _aes_key(password: str) -> bytes:
    return (to_bytes(password) + b"\x00" * 32)[:32]


@go_func("string", "string")
def encrypt_aes(password: str, plaintext: str) -> str:
    if plaintext == "":
        return ""
    content = to_bytes(plaintext)
    padding = 16 - len(content) % 16
    content += bytes([padding]) * padding
    iv = secrets.token_bytes(16)
    return base64.b64encode(iv + _aes_cbc(_aes_key(password), iv, content, True)).decode("ascii")


@go_func("string", "string")
def decrypt_aes(password: str, crypt64: str) -> str:
    if crypt64 == "":
        return ""
    try:
        data = _b64_decode(to_bytes(crypt64))
    except _CorruptInput as exc:
        raise FuncError(f"illegal base64 data at input byte {exc.pos}") from None
    if len(data) < 16:
        raise FuncError(f"runtime error: slice bounds out of range [:16] with capacity {len(data)}")
    iv, body = data[:16], data[16:]
    if len(body) % 16:
        raise FuncError("crypto/cipher: input not full blocks")
    if not body:
        raise FuncError("runtime error: index out of range [-1]")
    plain = _aes_cbc(_aes_key(password), iv, body, False)
    cut = len(plain) - plain[-1]
    if cut < 0:
        raise FuncError(f"runtime error: slice bounds out of range [:{cut}]")
    return from_bytes(plain[:cut])


def _generate_key_pem(kind: str) -> str:
    lib = _libcrypto()
    if lib is None:
        raise FuncError("private key generation is not available: libcrypto was not found")
    vp, cp = ctypes.c_void_p, ctypes.c_char_p
    lib.EVP_PKEY_CTX_new_from_name.restype = vp
    lib.EVP_PKEY_CTX_new_from_name.argtypes = [vp, cp, cp]
    lib.EVP_PKEY_keygen_init.argtypes = [vp]
    lib.EVP_PKEY_paramgen_init.argtypes = [vp]
    lib.EVP_PKEY_generate.argtypes = [vp, ctypes.POINTER(vp)]
    lib.EVP_PKEY_CTX_new_from_pkey.restype = vp
    lib.EVP_PKEY_CTX_new_from_pkey.argtypes = [vp, vp, cp]
    lib.EVP_PKEY_CTX_free.argtypes = [vp]
    lib.EVP_PKEY_free.argtypes = [vp]
    lib.BIO_s_mem.restype = vp
    lib.BIO_new.restype = vp
    lib.BIO_new.argtypes = [vp]
    lib.BIO_free.argtypes = [vp]
    lib.BIO_ctrl.restype = ctypes.c_long
    lib.BIO_ctrl.argtypes = [vp, ctypes.c_int, ctypes.c_long, vp]
    lib.PEM_write_bio_PrivateKey_traditional.argtypes = [vp, vp, vp, vp, ctypes.c_int, vp, vp]
    lib.PEM_write_bio_PrivateKey.argtypes = [vp, vp, vp, vp, ctypes.c_int, vp, vp]
    lib.EVP_PKEY_CTX_set_rsa_keygen_bits.argtypes = [vp, ctypes.c_int]
    lib.EVP_PKEY_CTX_set_dsa_paramgen_bits.argtypes = [vp, ctypes.c_int]
    lib.EVP_PKEY_CTX_set_dsa_paramgen_q_bits.argtypes = [vp, ctypes.c_int]
    lib.EVP_PKEY_CTX_set_group_name.argtypes = [vp, cp]
    algo = {"rsa": b"RSA", "dsa": b"DSA", "ecdsa": b"EC", "ed25519": b"ED25519"}[kind]
    ctx = lib.EVP_PKEY_CTX_new_from_name(None, algo, None)
    key = vp()
    try:
        if kind == "dsa":
            params = vp()
            if lib.EVP_PKEY_paramgen_init(ctx) <= 0:
                raise FuncError("failed to generate dsa params")
            lib.EVP_PKEY_CTX_set_dsa_paramgen_bits(ctx, 2048)
            lib.EVP_PKEY_CTX_set_dsa_paramgen_q_bits(ctx, 256)
            if lib.EVP_PKEY_generate(ctx, ctypes.byref(params)) <= 0:
                raise FuncError("failed to generate dsa params")
            lib.EVP_PKEY_CTX_free(ctx)
            ctx = lib.EVP_PKEY_CTX_new_from_pkey(None, params, None)
            lib.EVP_PKEY_free(params)
        if lib.EVP_PKEY_keygen_init(ctx) <= 0:
            raise FuncError("failed to generate private key")
        if kind == "rsa":
            lib.EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, 4096)
        elif kind == "ecdsa":
            lib.EVP_PKEY_CTX_set_group_name(ctx, b"P-256")
        if lib.EVP_PKEY_generate(ctx, ctypes.byref(key)) <= 0:
            raise FuncError("failed to generate private key")
        bio = lib.BIO_new(lib.BIO_s_mem())
        try:
            if kind == "ed25519":  # no "traditional" form: Go writes PKCS#8, as OpenSSL does here
                lib.PEM_write_bio_PrivateKey(bio, key, None, None, 0, None, None)
            else:
                lib.PEM_write_bio_PrivateKey_traditional(bio, key, None, None, 0, None, None)
            buf = ctypes.c_void_p()
            n = lib.BIO_ctrl(bio, 3, 0, ctypes.byref(buf))  # BIO_CTRL_INFO: BIO_get_mem_data
            return ctypes.string_at(buf, n).decode("ascii")
        finally:
            lib.BIO_free(bio)
    finally:
        if key:
            lib.EVP_PKEY_free(key)
        lib.EVP_PKEY_CTX_free(ctx)


@go_func("string")
def gen_private_key(kind: str) -> str:
    if kind in ("", "rsa"):
        return _generate_key_pem("rsa")
    if kind in ("dsa", "ecdsa", "ed25519"):
        return _generate_key_pem(kind)
    return "Unknown type " + kind
