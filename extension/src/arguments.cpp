#include "arguments.hpp"

namespace insight {

std::string RequiredText(FunctionCallInfo fcinfo, int argno, const char* what, size_t max_len) {
  if (PG_ARGISNULL(argno)) {
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, std::string(what) + " must not be null");
  }
  std::string value = TextFromDatum(PG_GETARG_DATUM(argno));
  if (value.find_first_not_of(" \t\r\n\f\v") == std::string::npos) {
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE, std::string(what) + " must not be blank");
  }
  if (value.size() > max_len) {
    throw SqlError(ERRCODE_INVALID_PARAMETER_VALUE,
                   std::string(what) + " must be at most " + std::to_string(max_len) + " bytes");
  }
  return value;
}

}  // namespace insight
