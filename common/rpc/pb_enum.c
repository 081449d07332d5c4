/* Short enum names from the protobuf-c descriptors (see pb_enum.h). */
#include "rpc/pb_enum.h"

#include <string.h>

#define PB_ENUM_ZERO_SUFFIX "UNSPECIFIED"

/* Length of the prefix every value of d shares; 0 when d does not follow the convention (names
 * are then used whole). */
static size_t pb_enum__prefix_len(const ProtobufCEnumDescriptor *d) {
  for (unsigned i = 0; i < d->n_values; i++) {
    if (d->values[i].value != 0) continue;
    const char *n = d->values[i].name;
    const size_t len = strlen(n), suffix = sizeof PB_ENUM_ZERO_SUFFIX - 1;
    if (len >= suffix && memcmp(n + len - suffix, PB_ENUM_ZERO_SUFFIX, suffix) == 0)
      return len - suffix;
  }
  return 0;
}

const char *hd_pb_enum_name(const ProtobufCEnumDescriptor *d, int value) {
  const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
  if (!v) return NULL;
  const size_t prefix = pb_enum__prefix_len(d);
  return strlen(v->name) > prefix ? v->name + prefix : v->name;
}

int hd_pb_enum_parse(const ProtobufCEnumDescriptor *d, const char *name, size_t len, int *out) {
  if (!name) return -1;
  const size_t prefix = pb_enum__prefix_len(d);
  for (unsigned i = 0; i < d->n_values; i++) {
    const char *full = d->values[i].name;
    const size_t full_len = strlen(full);
    if (full_len <= prefix) continue;
    if (full_len - prefix == len && memcmp(full + prefix, name, len) == 0) {
      *out = d->values[i].value;
      return 0;
    }
  }
  return -1;
}
