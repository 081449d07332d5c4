/* Machine-readable errors on the wire: an hd_err's details as google.rpc.Status (code, message,
 * details), packed for the trailing metadata "grpc-status-details-bin" that gRPC defines for it,
 * and read back from there by our own client. What each detail means:
 *   BadRequest{field_violations: [{field, description}]}  err.field set (INVALID_ARGUMENT);
 *   ErrorInfo{reason, domain "helpdesk.v1", metadata}      err.reason set; metadata
 *                                                          {"current_version": "7"} when
 *                                                          err.current_version > 0 (ABORTED);
 *   RetryInfo{retry_delay}                                 err.retry_after_ms > 0, and for every
 *                                                          UNAVAILABLE (HD_RPC_RETRY_UNAVAILABLE_MS
 *                                                          when err says nothing).
 * The reasons themselves are listed in the README ("Errors a program can act on"). */
#ifndef HD_RPC_STATUS_DETAILS_H
#define HD_RPC_STATUS_DETAILS_H

#include <stddef.h>

#include <grpc/slice.h>

#include "core/err.h"

#define HD_RPC_STATUS_DETAILS_KEY   "grpc-status-details-bin"
#define HD_RPC_ERROR_DOMAIN         "helpdesk.v1" /* ErrorInfo.domain of every reason we send */
#define HD_RPC_RETRY_UNAVAILABLE_MS 1000          /* RetryInfo of an UNAVAILABLE that names none */
#define HD_RPC_STATUS_DETAILS_MAX   8192          /* the most a packed Status may take to be read */

/* Packs google.rpc.Status{code, message, details of err} into *out, a new slice the caller
 * releases with grpc_slice_unref. err gives only the details (NULL: none); code and msg are what
 * the status itself says, so the two always agree. 0, or -1 when it cannot be built (out of
 * memory; *out untouched). Thread-safe, no state. */
int hd_rpc_status_details_pack(hd_code code, const char *msg, const hd_err *err, grpc_slice *out);

/* Reads a packed google.rpc.Status (the value of grpc-status-details-bin, already base64-decoded
 * by the core) into err's details: the first field violation's field, ErrorInfo's reason and its
 * current_version, RetryInfo's delay in ms. err's code and message stay as they are (the status
 * line is the authority). Details of other types, or other domains' ErrorInfo, are skipped.
 * 0, or -1 when bytes are not a Status or longer than HD_RPC_STATUS_DETAILS_MAX (err untouched). */
int hd_rpc_status_details_unpack(const void *bytes, size_t len, hd_err *err);

#endif
