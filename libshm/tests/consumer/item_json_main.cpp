// A program that uses an installed libshm's Item JSON (component item_json).
#include <cstdio>
#include <libshm/item_json.hpp>

int main() {
  const nlohmann::json j = shm::parse_json(R"([1, 2.5, {"bytes": "6869"}])");
  const auto items = j.get<std::vector<shm::Item>>();
  const std::string text = shm::to_json(items);
  const bool same = text == R"([1, 2.5, {"bytes": "6869"}])";
  std::printf("item_json consumer: %s\n", same ? "ok" : text.c_str());
  return same ? 0 : 1;
}
