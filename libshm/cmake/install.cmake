# Installs the library, its headers, a CMake package (libshmConfig.cmake + version file) and a
# pkg-config file. tests/consumer builds a project against the result, so this cannot rot.
include(CMakePackageConfigHelpers)

set(LIBSHM_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/libshm)

install(TARGETS shm EXPORT libshmTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/libshm DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT libshmTargets NAMESPACE shm:: DESTINATION ${LIBSHM_CMAKE_DIR})
# shm::item_json in an export set of its own: libshmConfig.cmake loads it (and looks for
# nlohmann-json) only for a consumer that asks for the component item_json.
install(TARGETS shm_item_json EXPORT libshmItemJsonTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT libshmItemJsonTargets NAMESPACE shm:: DESTINATION ${LIBSHM_CMAKE_DIR})

configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/libshmConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/libshmConfig.cmake INSTALL_DESTINATION ${LIBSHM_CMAKE_DIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/libshmConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/libshmConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/libshmConfigVersion.cmake
        DESTINATION ${LIBSHM_CMAKE_DIR})

# pkg-config: a static libshm needs its dependencies on the consumer's link line.
set(LIBSHM_PC_LIBS_PRIVATE "-pthread")
if(BUILD_SHARED_LIBS)
  set(LIBSHM_PC_LIBS "-lshm")
else()
  set(LIBSHM_PC_LIBS "-lshm -pthread")
endif()
# Relocatable: the prefix is found from the .pc file's own place, so `cmake --install --prefix`
# anywhere gives a working file.
file(RELATIVE_PATH LIBSHM_PC_TO_PREFIX ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig
     ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" LIBSHM_PC_TO_PREFIX "${LIBSHM_PC_TO_PREFIX}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/libshm.pc.in ${CMAKE_CURRENT_BINARY_DIR}/libshm.pc @ONLY)
configure_file(${CMAKE_CURRENT_LIST_DIR}/libshm-item-json.pc.in
               ${CMAKE_CURRENT_BINARY_DIR}/libshm-item-json.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/libshm.pc ${CMAKE_CURRENT_BINARY_DIR}/libshm-item-json.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
