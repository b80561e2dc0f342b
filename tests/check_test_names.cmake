# CTest entry doctest.test-names: every doctest case name must survive doctest_discover_tests.
# That module passes the names through CMake lists, which split at ';': a name with a ';' became
# two CTest entries that each ran no test case and passed. Such a name is refused here, shown.
#   cmake -DTEST_EXECUTABLE=build/native/bnlab_tests -P tests/check_test_names.cmake
execute_process(COMMAND "${TEST_EXECUTABLE}" --list-test-cases
                OUTPUT_VARIABLE output RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "${TEST_EXECUTABLE} --list-test-cases failed (${result}):\n${output}")
endif()
if(output MATCHES ";")
  string(REPLACE ";" "<;>" shown "${output}")
  message(FATAL_ERROR "doctest case names must not contain ';' (CMake splits them into CTest "
                      "entries that run nothing). The names, each ';' shown as <;>:\n${shown}")
endif()
string(REGEX MATCH "unskipped test cases passing the current filters: ([0-9]+)" _ "${output}")
if(NOT CMAKE_MATCH_1 OR CMAKE_MATCH_1 LESS 1)
  message(FATAL_ERROR "no doctest case found in ${TEST_EXECUTABLE}:\n${output}")
endif()
message(STATUS "${CMAKE_MATCH_1} doctest case names, none with ';'")
