/* placeholder: being written */
typedef int ntsd_placeholder_ke_record;
