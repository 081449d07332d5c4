/* The ticket service's definition for the runtime (hd_service_main, hd_fixture_start). */
#ifndef TICKETS_TICKETS_SERVICE_H
#define TICKETS_TICKETS_SERVICE_H

#include "svc/service.h"

extern const hd_service_def tickets_service_def;

#endif
