# Turns protoc's FileDescriptorSet (IN) into a C file (OUT) defining hd_descriptor_set[] and
# hd_descriptor_set_len, read by server reflection (common/rpc/reflection.c). Run with cmake -P.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n  " bytes "${bytes}")
file(WRITE ${OUT}.tmp
"/* Generated from ${IN} by cmake/embed_descriptor_set.cmake. */\n#include <stddef.h>\n#include <stdint.h>\n\nconst uint8_t hd_descriptor_set[] = {\n  ${bytes}\n};\nconst size_t hd_descriptor_set_len = ${len};\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
