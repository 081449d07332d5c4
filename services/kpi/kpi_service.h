/* The kpi service's definition for the runtime (hd_service_main, hd_fixture_start). */
#ifndef KPI_KPI_SERVICE_H
#define KPI_KPI_SERVICE_H

#include "svc/service.h"

extern const hd_service_def kpi_service_def;

#endif
