/* The routing service's definition for the runtime (hd_service_main, hd_fixture_start). */
#ifndef ROUTING_ROUTING_SERVICE_H
#define ROUTING_ROUTING_SERVICE_H

#include "svc/service.h"

extern const hd_service_def routing_service_def;

#endif
