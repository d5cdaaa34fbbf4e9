// Generic jute record codec. A record is a plain struct that lists its
// fields once, in wire order, with their jute names:
//
//   struct DeleteRequest {
//     std::string path;
//     int32_t version = -1;
//     static constexpr std::string_view kName = "DeleteRequest";
//     static constexpr auto kFields = std::make_tuple(
//         jute::F("path", &DeleteRequest::path), jute::F("version", &DeleteRequest::version));
//   };
//
// and Encode / Decode / ToString walk that list, so the encoder and the
// decoder can never disagree. Field types and their jute types:
//
//   int32_t ↔ int, int64_t ↔ long, bool ↔ boolean, Buffer ↔ buffer,
//   std::string ↔ ustring (null reads as ""), std::optional<std::string> ↔
//   ustring where ZooKeeper gives null a meaning, std::vector<E> ↔
//   vector<E> (null reads as empty), std::optional<std::vector<E>> ↔ vector
//   where null matters, and any record ↔ a nested record.
//
// jute::Trailing(...) marks a last field that old peers leave out (the
// connect handshake's readOnly byte): it is always written, and read only
// if bytes are left.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <vector>

#include "dougong/base/status.h"
#include "zk/jute.h"

namespace dougong::zk::jute {

template <class C, class M, bool kTrailing = false>
struct Field {
  using type = M;
  std::string_view name;
  M C::*member;
  static constexpr bool trailing = kTrailing;
};

template <class C, class M>
constexpr Field<C, M> F(std::string_view name, M C::*member) {
  return {name, member};
}
template <class C, class M>
constexpr Field<C, M, true> Trailing(std::string_view name, M C::*member) {
  return {name, member};
}

template <class T>
concept Record = requires {
  { T::kName } -> std::convertible_to<std::string_view>;
  T::kFields;
};

namespace internal {

// Puts `where` ("acl[0]", "path", ...) in front of a decoding error so that
// it reads "CreateRequest.acl[0].id.scheme: truncated record at offset 17".
Status Locate(const Status& error, std::string_view where);

void AppendQuoted(std::string* out, std::string_view s);
void AppendBuffer(std::string* out, const Buffer& b);

}  // namespace internal

// Codec<T>: how one field type is written, read and printed. A class
// template rather than overloads so that nested records and vectors of
// records resolve regardless of declaration order.
template <class T>
struct Codec;

template <>
struct Codec<int32_t> {
  static void Encode(int32_t v, Writer& w) { w.WriteInt(v); }
  static Status Decode(Reader& r, int32_t* v) { return r.ReadInt(v); }
  static void Print(int32_t v, std::string* out) { out->append(std::to_string(v)); }
};

template <>
struct Codec<int64_t> {
  static void Encode(int64_t v, Writer& w) { w.WriteLong(v); }
  static Status Decode(Reader& r, int64_t* v) { return r.ReadLong(v); }
  static void Print(int64_t v, std::string* out) { out->append(std::to_string(v)); }
};

template <>
struct Codec<bool> {
  static void Encode(bool v, Writer& w) { w.WriteBool(v); }
  static Status Decode(Reader& r, bool* v) { return r.ReadBool(v); }
  static void Print(bool v, std::string* out) { out->append(v ? "true" : "false"); }
};

template <>
struct Codec<std::string> {
  static void Encode(const std::string& v, Writer& w) { w.WriteBytes(v); }
  // A null (length -1) reads as "": clients send null where they mean
  // nothing (kazoo's Id("auth", None) in ACLs). Fields where null has a
  // meaning of its own are std::optional.
  static Status Decode(Reader& r, std::string* v) {
    bool is_null = false;
    return r.ReadBytes(v, &is_null);
  }
  static void Print(const std::string& v, std::string* out) { internal::AppendQuoted(out, v); }
};

template <>
struct Codec<std::optional<std::string>> {
  static void Encode(const std::optional<std::string>& v, Writer& w) {
    if (v) {
      w.WriteBytes(*v);
    } else {
      w.WriteNull();
    }
  }
  static Status Decode(Reader& r, std::optional<std::string>* v) {
    std::string s;
    bool is_null = false;
    Status st = r.ReadBytes(&s, &is_null);
    if (st.ok()) {
      if (is_null) {
        v->reset();
      } else {
        *v = std::move(s);
      }
    }
    return st;
  }
  static void Print(const std::optional<std::string>& v, std::string* out) {
    if (v) {
      internal::AppendQuoted(out, *v);
    } else {
      out->append("null");
    }
  }
};

template <>
struct Codec<Buffer> {
  static void Encode(const Buffer& v, Writer& w) {
    if (v.is_null) {
      w.WriteNull();
    } else {
      w.WriteBytes(v.bytes);
    }
  }
  static Status Decode(Reader& r, Buffer* v) { return r.ReadBytes(&v->bytes, &v->is_null); }
  static void Print(const Buffer& v, std::string* out) { internal::AppendBuffer(out, v); }
};

template <class E>
struct Codec<std::vector<E>> {
  static void Encode(const std::vector<E>& v, Writer& w) {
    w.WriteInt(static_cast<int32_t>(v.size()));
    for (const E& e : v) Codec<E>::Encode(e, w);
  }
  static Status Decode(Reader& r, std::vector<E>* v) {
    bool is_null = false;
    return DecodeElements(r, v, &is_null);
  }
  // No reserve(count): elements are appended as they are decoded, so memory
  // follows the bytes actually present, never the announced count.
  static Status DecodeElements(Reader& r, std::vector<E>* v, bool* is_null) {
    v->clear();
    int32_t count = 0;
    if (Status s = r.ReadCount(&count, is_null); !s.ok()) return s;
    for (int32_t i = 0; i < count; ++i) {
      E e{};
      if (Status s = Codec<E>::Decode(r, &e); !s.ok()) {
        return internal::Locate(s, "[" + std::to_string(i) + "]");
      }
      v->push_back(std::move(e));
    }
    return Status::Ok();
  }
  static void Print(const std::vector<E>& v, std::string* out) {
    out->push_back('[');
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out->append(", ");
      Codec<E>::Print(v[i], out);
    }
    out->push_back(']');
  }
};

template <class E>
struct Codec<std::optional<std::vector<E>>> {
  static void Encode(const std::optional<std::vector<E>>& v, Writer& w) {
    if (v) {
      Codec<std::vector<E>>::Encode(*v, w);
    } else {
      w.WriteNull();
    }
  }
  static Status Decode(Reader& r, std::optional<std::vector<E>>* v) {
    std::vector<E> elems;
    bool is_null = false;
    Status s = Codec<std::vector<E>>::DecodeElements(r, &elems, &is_null);
    if (s.ok()) {
      if (is_null) {
        v->reset();
      } else {
        *v = std::move(elems);
      }
    }
    return s;
  }
  static void Print(const std::optional<std::vector<E>>& v, std::string* out) {
    if (v) {
      Codec<std::vector<E>>::Print(*v, out);
    } else {
      out->append("null");
    }
  }
};

template <Record T>
struct Codec<T> {
  static void Encode(const T& v, Writer& w) {
    std::apply([&](const auto&... f) { (Codec<FieldType<decltype(f)>>::Encode(v.*(f.member), w), ...); },
               T::kFields);
  }

  static Status Decode(Reader& r, T* v) {
    Status st;
    // Stops at the first failing field (the fold's && short-circuits).
    std::apply([&](const auto&... f) { (DecodeField(r, v, f, &st) && ...); }, T::kFields);
    return st;
  }

  static void Print(const T& v, std::string* out) {
    out->append(T::kName);
    out->push_back('{');
    bool first = true;
    std::apply(
        [&](const auto&... f) {
          ((out->append(first ? "" : ", "), first = false, out->append(f.name), out->append(": "),
            Codec<FieldType<decltype(f)>>::Print(v.*(f.member), out)),
           ...);
        },
        T::kFields);
    out->push_back('}');
  }

 private:
  template <class Fld>
  using FieldType = typename std::remove_cvref_t<Fld>::type;

  template <class Fld>
  static bool DecodeField(Reader& r, T* v, const Fld& f, Status* st) {
    if constexpr (Fld::trailing) {
      // Absent in packets from old peers: the default, as Java's catch does.
      if (r.at_end()) {
        v->*(f.member) = FieldType<Fld>{};
        return true;
      }
    }
    Status s = Codec<FieldType<Fld>>::Decode(r, &(v->*(f.member)));
    if (!s.ok()) {
      *st = internal::Locate(s, "." + std::string(f.name));
      return false;
    }
    return true;
  }
};

// Appends the jute encoding of `record` to `w`.
template <Record T>
void Encode(const T& record, Writer& w) {
  Codec<T>::Encode(record, w);
}

template <Record T>
std::string Encode(const T& record) {
  std::string out;
  Writer w(&out);
  Codec<T>::Encode(record, w);
  return out;
}

// Reads one record; errors name the record and field, e.g.
// "CreateRequest.acl[0].id.scheme: truncated record at offset 17: ...".
template <Record T>
Status Decode(Reader& r, T* record) {
  Status s = Codec<T>::Decode(r, record);
  if (!s.ok()) return internal::Locate(s, T::kName);
  return s;
}

// Decodes `bytes` as exactly one record: trailing bytes are an error.
template <Record T>
Status DecodeAll(std::string_view bytes, T* record, int32_t max_length = kDefaultMaxBuffer) {
  Reader r(bytes, max_length);
  if (Status s = Decode(r, record); !s.ok()) return s;
  if (!r.at_end()) {
    return InvalidArgument(std::string(T::kName) + ": " + std::to_string(r.remaining()) +
                           " unexpected bytes after the record at offset " + std::to_string(r.offset()));
  }
  return Status::Ok();
}

// "CreateRequest{path: \"/a\", data: \"x\", acl: [ACL{perms: 31, ...}], flags: 0}"
template <Record T>
std::string ToString(const T& record) {
  std::string out;
  Codec<T>::Print(record, &out);
  return out;
}

}  // namespace dougong::zk::jute
