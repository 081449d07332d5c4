# Turns a service's numbered migrations/*.sql into a C array (run with cmake -P).
# Inputs: SVC (the array is <SVC>_migrations), DIR (where the files are, for the comment), OUT (C
# file to write), SQL_FILES (;-separated, sorted).
set(body "")
set(count 0)
foreach(f ${SQL_FILES})
  get_filename_component(name ${f} NAME_WE)
  string(REGEX MATCH "^[0-9]+" version ${name})
  if(version STREQUAL "")
    message(FATAL_ERROR "migration ${f} must start with its number, e.g. 001_init.sql")
  endif()
  math(EXPR version "${version}")
  file(READ ${f} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
  string(APPEND body "  { ${version}, \"${name}\", \"${escaped}\" },\n")
  math(EXPR count "${count} + 1")
endforeach()
file(WRITE ${OUT}.tmp
"/* Generated from ${DIR} by cmake/embed_migrations.cmake. */\n#include \"db/migrate.h\"\n\nconst hd_migration ${SVC}_migrations[] = {\n${body}  { 0, NULL, NULL }\n};\nconst size_t ${SVC}_migrations_count = ${count};\n")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
file(REMOVE ${OUT}.tmp)
