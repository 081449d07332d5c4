/* The accounts service's definition for the runtime (hd_service_main, hd_fixture_start). */
#ifndef ACCOUNTS_ACCOUNTS_SERVICE_H
#define ACCOUNTS_ACCOUNTS_SERVICE_H

#include "svc/service.h"

extern const hd_service_def accounts_service_def;

#endif
